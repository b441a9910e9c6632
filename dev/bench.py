#!/usr/bin/env python3
"""Throughput of the outbound SMS path against a fake DIDWW on 127.0.0.1 (figures, not a test).

    python3 dev/bench.py [--messages 200] [--latency 0.05]          # the protocol client alone
    python3 dev/bench.py --odoo [--messages 200] [--latency 0.05]   # plus Odoo's queue, end to end
    python3 dev/bench.py --inbound [--inbound-seconds 60] [--inbound-rate 50] [--burst 1000]
                                                                    # the inbound webhook (see bench_inbound.py)

DIDWW answers each request after ``--latency`` seconds (a realistic round trip); the client
sends the same batch one by one and then with 2, 4 and 8 requests in flight, as the Odoo
queue does (``Parallel SMS requests`` in the settings). With ``--odoo`` the addon is installed on
a throwaway database (found like ``dev/didww.py test`` does) and a mass SMS to that many contacts
is sent through ``sms.sms._send``: seconds and SQL queries. Only loopback traffic, bounded in count.
"""

import argparse
import json
import os
import subprocess
import time

import bench_inbound
import didww as runner
from addon_tools import load_fake, load_tools

ODOO_BENCH = """
import json, sys, time
sys.path.insert(0, {dev!r})
from addon_tools import load_fake
fake = load_fake().FakeDidww().start()
fake.response_delay = {latency!r}
with odoo.registry(config['db_name']).cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {{}})
    env.company.write({{
        "didww_sms_active": True, "didww_sms_username": fake.username, "didww_sms_password": fake.password,
        "didww_sms_api_url": fake.url, "didww_sms_rate_limit": 1000, "didww_sms_max_workers": {workers!r},
        "country_id": env.ref("base.lt").id}})
    for i in range(5):
        env["didww.sms.number"].create({{"number": f"+3705200000{{i}}", "all_users": True}})
    partners = env["res.partner"].create([{{"name": f"B{{i}}", "mobile": f"+3706{{i:07d}}"}}
                                          for i in range({messages!r})])
    composer = env["sms.composer"].with_context(default_res_model="res.partner", default_res_ids=partners.ids,
                                                default_composition_mode="mass")
    composer.create({{"body": "Hi {{{{ object.name }}}}"}}).action_send_sms()
    env.flush_all()
    queries = cr.sql_log_count
    start = time.perf_counter()
    env["sms.sms"].search([("state", "=", "outgoing")])._send()
    env.flush_all()
    print("BENCH " + json.dumps({{"seconds": time.perf_counter() - start, "queries": cr.sql_log_count - queries,
                                   "sent": len(fake.sent)}}))
    cr.rollback()
fake.stop()
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds DIDWW takes to answer")
    parser.add_argument("--odoo", action="store_true", help="also measure Odoo's queue on a throwaway database")
    parser.add_argument("--odoo-path", dest="odoo_path", help="Odoo source tree (else found or set up as "
                                                                 "dev/didww.py does)")
    parser.add_argument("--odoo-source", help="where to get Odoo when none is given, as for dev/didww.py")
    bench_inbound.add_arguments(parser)
    options = parser.parse_args()
    if not os.environ.get("_DIDWW_ODOO_TREE"):
        # Odoo's Python has requests and phonenumbers: this script re-runs itself in it if needed
        runner.WORK.mkdir(exist_ok=True)
        runner.provide_odoo(argparse.Namespace(odoo=options.odoo_path, odoo_source=options.odoo_source,
                                               command="run"))
    if options.inbound:
        bench_inbound.run(options)
        return
    client_bench(options)
    if options.odoo:
        odoo_bench(options)


def odoo_bench(options):
    # Odoo and a Python that runs it, as the runner finds or sets them up (this script may re-run itself)
    odoo = runner.provide_odoo(argparse.Namespace(odoo=options.odoo_path, odoo_source=options.odoo_source,
                                                  command="run"))
    env = runner.odoo_env(odoo)
    runner.check_odoo_importable(odoo, env)
    db_options = argparse.Namespace(db_host=None, db_port=None, db_user=None, db_password=None)
    server = runner.database_server(db_options)
    db = "didww_bench"
    config_args = [f"--addons-path={runner.addons_path(odoo)}", *server.odoo_args(), "-d", db,
                   "--data-dir", str(runner.WORK / "data"), "--log-level=warn"]
    try:
        runner.say(f"installing {runner.ADDON} on {db} (about a minute)")
        subprocess.run([*runner.odoo_bin_cmd(odoo), *config_args, "-i", runner.ADDON, "--without-demo=all",
                        "--stop-after-init", "--http-port", str(runner.free_port())], env=env, check=True,
                       cwd=runner.ROOT, capture_output=True)
        print(f"Odoo queue, {options.messages} SMS, DIDWW latency {options.latency * 1000:.0f} ms")
        print(f"{'in flight':>9}  {'seconds':>8}  {'SMS/s':>8}  {'queries':>8}  {'queries/SMS':>11}")
        for workers in (1, 4, 8):
            script = ODOO_BENCH.format(dev=str(runner.ROOT / "dev"), latency=options.latency, workers=workers,
                                       messages=options.messages)
            out = runner.odoo_python(env, config_args, script)
            line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH ")), None)
            if not line:
                runner.fail(f"the Odoo benchmark failed: {out.stderr[-2000:]}")
            figures = json.loads(line[6:])
            print(f"{workers:>9}  {figures['seconds']:>8.2f}  {options.messages / figures['seconds']:>8.1f}  "
                  f"{figures['queries']:>8}  {figures['queries'] / options.messages:>11.1f}")
    finally:
        runner.odoo_python(env, config_args, f"odoo.service.db.exp_drop({db!r})")
        server.stop()


def client_bench(options):
    tools, fake_module = load_tools(), load_fake()
    fake = fake_module.FakeDidww().start()
    fake.response_delay = options.latency
    messages = [(i, "+37041123456", f"+3706{i:07d}", f"Benchmark message {i} ✓") for i in range(options.messages)]
    print(f"{options.messages} SMS, DIDWW latency {options.latency * 1000:.0f} ms")
    print(f"{'in flight':>9}  {'seconds':>8}  {'SMS/s':>8}  {'max seen':>8}")
    try:
        for workers in (1, 2, 4, 8):
            fake.reset()
            fake.response_delay = options.latency
            client = tools.didww_sms_client.DidwwSmsClient(fake.url, fake.username, fake.password,
                                                           rate=1000, max_workers=workers)
            start = time.perf_counter()
            with client:
                results = client.send_many(messages)
            elapsed = time.perf_counter() - start
            failed = sum(1 for _key, message_id, _error in results if not message_id)
            print(f"{workers:>9}  {elapsed:>8.2f}  {options.messages / elapsed:>8.1f}  {fake.max_in_flight:>8}"
                  + (f"  ({failed} failed)" if failed else ""))
        start = time.perf_counter()
        parse = tools.didww_webhook.parse_event
        payload = {"to": "19179056077", "from": "37041654321", "time": "Mon, 23 Nov 2026 07:30:00 GMT",
                   "text": "hello", "data": "aGVsbG8=", "uuid": "u-1"}
        for _ in range(20000):
            parse(payload)
        print(f"webhook parsing: {20000 / (time.perf_counter() - start):,.0f} inbound events/s (pure Python)")
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
