"""Run inside Odoo (``inbound_harness.odoo_script``): SQL queries and CPU seconds (this process and
its PostgreSQL backend) to store and to process the given deliveries, in-process, rolled back.
Prints ``QUERIES {...}``."""

import cProfile
import json
import os
import resource
import time

import odoo
from odoo.tools import config


def cpu_seconds(cr):
    """CPU seconds of this process and of ``cr``'s PostgreSQL backend (when it runs on this machine)."""
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
    Event = env["didww.webhook.event"].sudo()
    env.flush_all()
    cpu = cpu_seconds(cr)
    count = cr.sql_log_count
    for payload in params["payloads"]:
        Event._store(env.company, payload, "127.0.0.1")
    env.flush_all()
    stored = cr.sql_log_count - count - 1  # the backend's pid, read by cpu_seconds
    store_cpu = cpu_seconds(cr) - cpu
    processed, seconds, process_cpu = 0, 0.0, 0.0
    profiler = cProfile.Profile() if params.get("profile") else None
    for _ in range(100):
        cpu, count, start = cpu_seconds(cr), cr.sql_log_count, time.perf_counter()
        if profiler:
            profiler.enable()
        Event._cron_process_pending()
        if profiler:
            profiler.disable()
        env.flush_all()
        processed, seconds = processed + cr.sql_log_count - count - 1, seconds + time.perf_counter() - start
        process_cpu += cpu_seconds(cr) - cpu
        if not Event.search_count([("state", "=", "pending"), ("attempts", "in", [0, False])]):
            break
    if profiler:
        profiler.dump_stats(params["profile"])
    done = Event.search_count([("state", "=", "done")])
    print("QUERIES " + json.dumps({"stored": stored, "processed": processed, "done": done, "seconds": seconds,
                                   "store_cpu": store_cpu, "process_cpu": process_cpu}))
    cr.rollback()
