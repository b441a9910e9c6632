from . import sms_composer
from . import sms_resend
from . import sms_composer_rules
