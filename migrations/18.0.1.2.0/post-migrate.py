from odoo import SUPERUSER_ID, api
from odoo.tools.sql import column_exists


def migrate(cr, version):
    """Up to 18.0.1.1.0 one cron processed every webhook event; events now have a lane each, and the
    first cron (``noupdate`` data, so not rewritten by the upgrade) takes the first lane only.
    Events stored before the upgrade are in lane 0 (the field's default), so none is left behind."""
    if column_exists(cr, "didww_webhook_event", "lane"):  # gone since 18.0.1.3.0 (claims per sender)
        cr.execute("UPDATE didww_webhook_event SET lane = 0 WHERE lane IS NULL")
    env = api.Environment(cr, SUPERUSER_ID, {})
    cron = env.ref("didww_connector.ir_cron_didww_webhook_events", raise_if_not_found=False)
    if cron and cron.code.strip() == "model._cron_process_pending()":
        cron.write({"name": "DIDWW: process webhook events (lane 1)", "code": "model._cron_process_pending(lane=0)"})
