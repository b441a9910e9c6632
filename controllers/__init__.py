from . import voip, webhook
