from . import test_sms_outbound
from . import test_webhook
from . import test_inbound_routing
