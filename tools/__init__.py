from . import didww_http
from . import didww_sms_client
from . import didww_sms_retry
from . import didww_api_client
from . import didww_webhook
from . import phone
from . import sip_websocket
