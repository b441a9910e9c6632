import json

from odoo import SUPERUSER_ID, api
from odoo.addons.didww_connector.tools.didww_webhook import WebhookFormatError, claim_key_of, parse_event

LANE_CODE = "model._cron_process_pending(lane=%d)"


def migrate(cr, version):
    """18.0.1.2.0 processed events in two fixed lanes, a cron each; events are now claimed per
    sender by every processing cron. The lane crons (``noupdate`` data, so not rewritten by the
    upgrade) run the shared code, and the events still to process get their claim key, so that
    none is left behind and each sender's texts stay in order."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    for lane, xmlid in enumerate(("ir_cron_didww_webhook_events", "ir_cron_didww_webhook_events_lane_2")):
        cron = env.ref(f"didww_connector.{xmlid}", raise_if_not_found=False)
        if cron and cron.code.strip() in (LANE_CODE % lane, "model._cron_process_pending()"):
            cron.write({"name": f"DIDWW: process webhook events ({lane + 1})",
                        "code": "model._cron_process_pending()"})
    cr.execute("SELECT id, company_id, payload FROM didww_webhook_event WHERE state IN ('pending', 'error')")
    keys = []
    for event_id, company_id, payload in cr.fetchall():
        try:
            keys.append((claim_key_of(company_id, parse_event(json.loads(payload)).order_key), event_id))
        except (WebhookFormatError, ValueError, TypeError):
            continue  # processed (and shown) as an error, as before
    if keys:
        cr.executemany("UPDATE didww_webhook_event SET claim_key = %s WHERE id = %s", keys)
