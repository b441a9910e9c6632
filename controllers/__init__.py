from . import voip, webhook, didww_export_callback
