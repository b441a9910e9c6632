from . import test_sms_outbound
from . import test_webhook
from . import test_inbound_routing
from . import test_sms_number
from . import test_voip
from . import test_api_import
from . import test_crm_actions
from . import test_softphone_e2e
