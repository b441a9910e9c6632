#!/usr/bin/env python3
"""Outbound fault scripts: DIDWW misbehaves, or Odoo dies, in the middle of a mass SMS.

    python3 dev/faults_outbound.py [--odoo-path PATH] [--outage 5] [--messages 200]

On a throwaway database, with a fake DIDWW in a process of its own on 127.0.0.1, each scenario
queues a mass SMS with the composer and lets Odoo's queue (``sms.sms._process_queue``, as the cron
runs it, committing chunk by chunk) send it while DIDWW:

* answers 503 for ``--outage`` seconds (60 reproduces the issue's hour-of-maintenance case);
* answers 429 with ``Retry-After`` for a few seconds;
* does not answer in time (the client times out; DIDWW does not take the SMS);
* drops connections without an answer;
* and, last, Odoo's process is killed with SIGKILL in the middle of a send batch and started
  again (the ten minutes after which Odoo gives up on SMS left "processing" are simulated by
  back-dating those rows).

Retries are made quick (system parameter ``didww_connector.retry_backoff``) so that a run lasts
minutes, not hours. Each scenario ends with a reconciliation of what the fake DIDWW accepted
against what Odoo shows (``tests/fake_didww.py: reconcile``): every SMS sent exactly once, or
failed with a reason; nothing left queued; SMS interrupted by the kill are shown as "may or may not
have been received" for a person to check. Exit status 1 when a reconciliation fails. The short
version runs in the test command as ``tests/test_sms_faults.py``.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import didww as runner
from addon_tools import load_fake
from bench_outbound import SETUP, throwaway_database
from fake_didww_server import FakeProcess

QUEUE = SETUP + """
    partners = env["res.partner"].create([{{"name": f"{tag} {{i}}", "mobile": f"+3706{prefix}{{i:06d}}"}}
                                          for i in range({messages!r})])
    composer = env["sms.composer"].with_context(default_res_model="res.partner", default_res_ids=partners.ids,
                                                default_composition_mode="mass")
    composer.create({{"body": "{tag} {{{{ object.name }}}}"}}).action_send_sms()
    cr.commit()
"""

DRAIN = SETUP + """
    if {backdate!r}:  # Odoo restarted: the queue's ten minutes of patience are over
        cr.execute("UPDATE sms_sms SET write_date = write_date - interval '11 minutes' WHERE state = 'process'")
        cr.commit()
    deadline = time.monotonic() + {deadline!r}
    while time.monotonic() < deadline:
        env["sms.sms"]._process_queue()
        cr.commit()
        cr.execute("SELECT count(*) FROM sms_sms WHERE state IN ('outgoing', 'process') AND body LIKE %s",
                   ["{tag} %"])
        if not cr.fetchone()[0]:
            break
        time.sleep(0.5)
        env.invalidate_all()
    cr.execute("SELECT number, state, didww_message_id, didww_failure_reason FROM sms_sms WHERE body LIKE %s",
               ["{tag} %"])
    print("ROWS " + json.dumps([{{"destination": number.lstrip("+"), "state": state, "message_id": message_id,
                                 "reason": reason}} for number, state, message_id, reason in cr.fetchall()]))
"""

ODOO_PRELUDE = "import sys, odoo\nfrom odoo.tools import config\nconfig.parse_config(sys.argv[1:])\n"


def odoo_process(env, config_args, script):
    return subprocess.Popen([sys.executable, "-c", ODOO_PRELUDE + script, *config_args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=runner.ROOT)


def rows_of(process, timeout):
    out, err = process.communicate(timeout=timeout)
    line = next((line for line in out.splitlines() if line.startswith("ROWS ")), None)
    if line is None:
        runner.fail(f"the Odoo side of the fault script failed: {err[-3000:]}")
    return json.loads(line[5:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo-path", dest="odoo_path", help="Odoo source tree (else $ODOO_PATH or importable)")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds of 5xx answers (default 5)")
    parser.add_argument("--messages", type=int, default=200, help="SMS per scenario (default 200)")
    options = parser.parse_args()
    reconcile = load_fake().reconcile
    step = max(1.0, options.outage / 3)
    params = {"didww_connector.retry_backoff": ",".join([f"{step:g}"] * 5), "didww_connector.timeout": "1"}
    scenarios = [
        ("5xx", {"kind": "5xx", "seconds": options.outage}),
        ("429", {"kind": "429", "seconds": 3, "retry_after": 2}),
        ("timeout", {"kind": "timeout", "seconds": 3, "hang": 2}),
        ("drop", {"kind": "drop", "seconds": 3}),
        ("sigkill", None),
    ]
    fake = FakeProcess()
    failed = False
    print(f"{'scenario':>9}  {'SMS':>5}  {'sent':>5}  {'failed':>6}  {'interrupted':>11}  {'requests':>8}  "
          f"{'seconds':>7}  reconciliation")
    try:
        with throwaway_database(options, "outbound_faults") as (env, config_args):
            for index, (name, fault) in enumerate(scenarios):
                tag = f"F{name}"
                common = {"url": fake.url, "workers": 16, "params": params}
                start = time.monotonic()
                fake.call("reset")
                fake.call("latency", seconds=0.2 if name == "sigkill" else 0.02)
                # the kill needs several chunks (8 x 16 requests in flight each) to land in the middle of
                messages = max(options.messages, 600) if name == "sigkill" else options.messages
                queue = QUEUE.format(tag=tag, prefix=index, messages=messages, **common)
                out = runner.odoo_python(env, config_args, queue)
                if out.returncode:
                    runner.fail(f"queueing failed: {out.stderr[-3000:]}")
                drain = DRAIN.format(tag=tag, deadline=options.outage * 3 + 120, backdate=False, **common)
                if fault:
                    fake.call("fault", **fault)
                    rows = rows_of(odoo_process(env, config_args, drain), options.outage * 3 + 300)
                else:
                    process = odoo_process(env, config_args, drain)
                    while len(fake.call("stats")["sent"]) < messages // 3 and process.poll() is None:
                        time.sleep(0.05)
                    if process.poll() is None:
                        os.kill(process.pid, signal.SIGKILL)
                    process.wait()
                    killed_at = len(fake.call("stats")["sent"])
                    restart = DRAIN.format(tag=tag, deadline=120, backdate=True, **common)
                    rows = rows_of(odoo_process(env, config_args, restart), 300)
                stats = fake.call("stats")
                problems, summary = reconcile(stats["sent"], rows)
                failed = failed or bool(problems)
                note = "OK" if not problems else "FAILED: " + "; ".join(problems[:5])
                if not fault:
                    note += f" (killed after DIDWW accepted {killed_at})"
                reasons = sorted({row["reason"] for row in rows if row["state"] == "error"})
                print(f"{name:>9}  {len(rows):>5}  {summary['sent']:>5}  {summary['failed']:>6}  "
                      f"{summary['interrupted']:>11}  {stats['requests']:>8}  {time.monotonic() - start:>7.1f}  {note}")
                for reason in reasons[:3]:
                    print(f"{'':>11}reason shown: {reason}")
    finally:
        fake.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
