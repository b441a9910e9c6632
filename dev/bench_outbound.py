"""Outbound SMS through Odoo's queue, end to end, against a fake DIDWW process (figures, not a test).

Called by ``dev/bench.py --odoo``. Each phase runs in a fresh Odoo process on a throwaway database:
the composer queues a mass SMS to N contacts (timed), then ``sms.sms._process_queue`` sends it
(the cron's own code path, committing per chunk) while the fake DIDWW, in a process of its own,
answers each request after ``--latency`` seconds. Printed: SMS/s, SQL queries per SMS, the peak
RSS of the sending process, and the ratios the goals are stated in.
"""

import argparse
import contextlib
import json
import subprocess

import didww as runner
from fake_didww_server import FakeProcess

SETUP = """
import json, resource, time
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
registry = odoo.modules.registry.Registry(config['db_name'])
with registry.cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {{}})
    env.company.write({{
        "didww_sms_active": True, "didww_sms_username": "trunk-user", "didww_sms_password": "trunk-pass",
        "didww_sms_api_url": {url!r}, "didww_sms_rate_limit": 100000, "didww_sms_max_workers": {workers!r},
        "country_id": env.ref("base.lt").id}})
    for key, value in {params!r}.items():
        env["ir.config_parameter"].set_param(key, value)
    if not env["didww.sms.number"].search_count([]):
        env["didww.sms.number"].create([{{"number": f"+3705200000{{i}}", "all_users": True}} for i in range(5)])
    cr.commit()
"""

QUEUE = SETUP + """
    tag = {tag!r}
    partners = env["res.partner"].create([{{"name": f"{{tag}} {{i}}", "mobile": f"+3706{{i:07d}}"}}
                                          for i in range({messages!r})])
    cr.commit()
    start = time.perf_counter()
    composer = env["sms.composer"].with_context(default_res_model="res.partner", default_res_ids=partners.ids,
                                                default_composition_mode="mass")
    composer.create({{"body": "Hi {{{{ object.name }}}}"}}).action_send_sms()
    env.flush_all()
    cr.commit()
    print("BENCH " + json.dumps({{"seconds": time.perf_counter() - start}}))
"""

SEND = SETUP + """
    queries = cr.sql_log_count
    start = time.perf_counter()
    env["sms.sms"]._process_queue()
    env.flush_all()
    seconds = time.perf_counter() - start
    states = dict(env.cr.execute("SELECT state, count(*) FROM sms_sms WHERE create_date > now() - interval '1 day' "
                                 "GROUP BY state") or env.cr.fetchall())
    print("BENCH " + json.dumps({{"seconds": seconds, "queries": cr.sql_log_count - queries, "rss_mb": rss_mb(),
                                  "states": states}}))
    env.cr.execute("UPDATE sms_sms SET to_delete = TRUE")
    env["sms.sms"]._gc_device()
    cr.commit()
"""


def add_arguments(parser):
    parser.add_argument("--big", type=int, default=10000, help="SMS of the memory / composer run (default 10000)")


@contextlib.contextmanager
def throwaway_database(options, name):
    """Install the addon on a new database ``name``; yield ``(env, config_args)``; drop it after."""
    # Odoo and a Python that runs it, as the runner finds or sets them up (may re-run this script)
    odoo = runner.provide_odoo(argparse.Namespace(
        odoo=options.odoo_path, odoo_source=getattr(options, "odoo_source", None), command="run"))
    env = runner.odoo_env(odoo)
    runner.check_odoo_importable(odoo, env)
    server = runner.database_server(argparse.Namespace(db_host=None, db_port=None, db_user=None, db_password=None))
    config_args = [f"--addons-path={runner.addons_path(odoo)}", *server.odoo_args(), "-d", name,
                   "--data-dir", str(runner.WORK / "data"), "--log-level=warn"]
    try:
        runner.say(f"installing {runner.ADDON} on {name} (about a minute)")
        subprocess.run([*runner.odoo_bin_cmd(odoo), *config_args, "-i", runner.ADDON, "--without-demo=all",
                        "--stop-after-init", "--http-port", str(runner.free_port())], env=env, check=True,
                       cwd=runner.ROOT, capture_output=True)
        yield env, config_args
    finally:
        runner.odoo_python(env, config_args, f"odoo.service.db.exp_drop({name!r})")
        server.stop()


def odoo_figures(env, config_args, script, **values):
    out = runner.odoo_python(env, config_args, script.format(**values))
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH ")), None)
    if not line:
        runner.fail(f"the Odoo benchmark failed: {out.stderr[-3000:]}")
    return json.loads(line[6:])


def run(options):
    fake = FakeProcess()
    fake.call("latency", seconds=options.latency)
    runs = [(1, min(options.messages, 200)), (4, options.messages), (8, options.messages), (16, options.messages),
            (16, options.big)]
    print(f"\nOdoo queue end to end (fake DIDWW in its own process, latency {options.latency * 1000:.0f} ms)")
    print(f"{'in flight':>9}  {'SMS':>6}  {'queue (s)':>9}  {'send (s)':>8}  {'SMS/s':>7}  {'network':>7}  "
          f"{'queries/SMS':>11}  {'peak RSS':>8}  {'max seen':>8}")
    results = {}
    try:
        with throwaway_database(options, "outbound_bench") as (env, config_args):
            for index, (workers, messages) in enumerate(runs):
                common = {"url": fake.url, "workers": workers, "params": {}}
                fake.call("reset")
                queued = odoo_figures(env, config_args, QUEUE, tag=f"R{index}", messages=messages, **common)
                sent = odoo_figures(env, config_args, SEND, **common)
                stats = fake.call("stats")
                rate = messages / sent["seconds"]
                network = workers / options.latency
                results[(workers, messages)] = rate
                destinations = [destination for _id, destination in stats["sent"]]
                problems = []
                if len(destinations) != messages or len(set(destinations)) != messages:
                    problems.append(f"DIDWW got {len(destinations)} SMS, {len(set(destinations))} distinct")
                if sent["states"].get("pending", 0) != messages:
                    problems.append(f"Odoo states {sent['states']}")
                print(f"{workers:>9}  {messages:>6}  {queued['seconds']:>9.2f}  {sent['seconds']:>8.2f}  "
                      f"{rate:>7.1f}  {network:>7.0f}  {sent['queries'] / messages:>11.2f}  "
                      f"{sent['rss_mb']:>6.0f}MB  {stats['max_in_flight']:>8}"
                      + (f"  PROBLEM: {'; '.join(problems)}" if problems else ""))
        one = results[(1, min(options.messages, 200))]
        sixteen = results[(16, options.messages)]
        print(f"16 in flight / 1 in flight: {sixteen / one:.1f}x; 16 in flight / network limit: "
              f"{sixteen / (16 / options.latency):.0%}")
    finally:
        fake.stop()
