from . import test_sms_outbound
