"""Run inside Odoo (``inbound_harness.odoo_script``): the CPU seconds Odoo itself spends posting
the benchmark's texts without the addon's routing: ``message_post`` of an SMS-like note on each
sender's contact, notifying the number's users in their Inbox, one savepoint a text and a commit
every 20, as processing does. The floor under the inbox's processing. Prints ``FLOOR {...}``."""

import json
import os
import resource

import odoo
from odoo.tools import config


def cpu_seconds(cr):
    """CPU seconds of this process and of ``cr``'s PostgreSQL backend (as inbound_queries.py)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cr.execute("SELECT pg_backend_pid()")
    try:
        with open(f"/proc/{cr.fetchone()[0]}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        backend = 0.0
    return usage.ru_utime + usage.ru_stime + backend

params = json.loads(os.environ["DIDWW_SCRIPT_PARAMS"])
with odoo.modules.registry.Registry(config["db_name"]).cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    users = env["res.users"].search([("login", "like", "bench_agent%")])
    partners = env["res.partner"].search([("name", "like", "Known %")], limit=params["count"])
    env.flush_all()
    cpu = cpu_seconds(cr)
    for index, partner in enumerate(partners):
        with cr.savepoint():
            partner.with_context(mail_create_nosubscribe=True).message_post(
                body=f"bench floor {index}", author_id=partner.id, message_type="comment",
                subtype_xmlid="mail.mt_note", partner_ids=users.partner_id.ids)
    env.flush_all()
    total = cpu_seconds(cr) - cpu
    print("FLOOR " + json.dumps({"count": len(partners), "users": len(users), "cpu": total}))
    cr.rollback()
