"""Run inside Odoo (``inbound_harness.odoo_script``): SQL queries to store and to process the
given deliveries, in-process, rolled back. Prints ``QUERIES {...}``."""

import json
import os
import time

import odoo
from odoo.tools import config

params = json.loads(os.environ["DIDWW_SCRIPT_PARAMS"])
with odoo.registry(config["db_name"]).cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    Event = env["didww.webhook.event"].sudo()
    env.flush_all()
    count = cr.sql_log_count
    for payload in params["payloads"]:
        Event._store(env.company, payload, "127.0.0.1")
    env.flush_all()
    stored = cr.sql_log_count - count
    processed, seconds = 0, 0.0
    for _ in range(100):
        count, start = cr.sql_log_count, time.perf_counter()
        Event._cron_process_pending()
        env.flush_all()
        processed, seconds = processed + cr.sql_log_count - count, seconds + time.perf_counter() - start
        if not Event.search_count([("state", "=", "pending"), ("attempts", "in", [0, False])]):
            break
    done = Event.search_count([("state", "=", "done")])
    print("QUERIES " + json.dumps({"stored": stored, "processed": processed, "done": done, "seconds": seconds}))
    cr.rollback()
