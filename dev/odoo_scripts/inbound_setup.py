"""Run inside Odoo (``inbound_harness.odoo_script``): the benchmark's company, DIDWW number
assigned to three users, and known contacts. Prints ``SETUP {"company": id, "secret": ...}``."""

import json
import os

import odoo
from odoo.tools import config

params = json.loads(os.environ["DIDWW_SCRIPT_PARAMS"])
with odoo.registry(config["db_name"]).cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    company = env.company
    company.country_id = env.ref("base.lt")
    # the webhook's limits (deliveries and new senders a minute) as given, else off: the benchmarks
    # measure how fast deliveries are taken and processed; dev/flood.py keeps the defaults
    company.write({"didww_webhook_max_events": params.get("max_events", 0),
                   "didww_webhook_max_new_senders": params.get("max_new_senders", 0)})
    users = env["res.users"].with_context(no_reset_password=True).create([
        {"name": f"Agent {i}", "login": f"bench_agent{i}", "notification_type": "inbox"} for i in range(3)])
    env["didww.sms.number"].create({"number": f"+{params['number']}", "user_ids": [(6, 0, users.ids)]})
    env["res.partner"].create([{"name": f"Known {i}", "phone": f"+{params['known_prefix']}{i:05d}"}
                               for i in range(params["known"])])
    print("SETUP " + json.dumps({"company": company.id, "secret": company.didww_webhook_secret}))
