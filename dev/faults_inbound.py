#!/usr/bin/env python3
"""Inbound fault suite: deliveries that DIDWW retries until 2xx end posted exactly once.

    python3 dev/faults_inbound.py [--odoo PATH] [--deliveries 300] [--concurrency 10] [--scenario all]

Scenarios (loopback only, bounded in count and time; each ends with a reconciliation of what was
sent against what Odoo shows):

* ``pg-restart``: PostgreSQL is stopped for ``--downtime`` seconds, then started again, in the
  middle of an inbound burst. It is a PRIVATE cluster this script starts under ``.work/`` (never
  the machine's shared server), and Odoo (``--workers=2``) runs on it.
* ``odoo-kill``: Odoo is killed with SIGKILL in the middle of a burst (requests and the processing
  cron cut short), then started again.

DIDWW's retries are simulated: every delivery is sent again every 0.5 s until it gets a 2xx (an
error answer, a dropped connection or a timeout all count as "retry"). At the end each delivery
must have been answered 2xx, and the chatter must hold each text exactly once; each new sender
must have exactly one contact. Exit status 0 when every scenario reconciles.
"""

import argparse
import os
import random
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import didww as runner
import inbound_harness as bench

SCENARIOS = ("pg-restart", "odoo-kill")


def reconcile(odoo, deliveries, outcomes, timeout):
    """Wait for Odoo to process what it accepted, then compare with what was sent."""
    unique = {payload["uuid"]: payload for payload in deliveries}
    keys = [f"inbound:uuid:{sms_uuid}" for sms_uuid in unique]
    deadline = time.monotonic() + timeout
    done = set()
    while time.monotonic() < deadline:
        try:
            with closing(odoo.connect()) as connection, connection.cursor() as cr:
                cr.execute("SELECT dedupe_key FROM didww_webhook_event WHERE state = 'done' AND dedupe_key = ANY(%s)",
                           [keys])
                done = {row[0] for row in cr.fetchall()}
        except Exception:  # noqa: BLE001 (the database may still be starting)
            time.sleep(1)
            continue
        if len(done) == len(keys):
            break
        time.sleep(1)
    with closing(odoo.connect()) as connection:
        counts = bench.posted_counts(connection, [f"bench-{sms_uuid}" for sms_uuid in unique])
        with connection.cursor() as cr:
            cr.execute("SELECT state, count(*) FROM didww_webhook_event WHERE dedupe_key = ANY(%s) GROUP BY state",
                       [keys])
            states = dict(cr.fetchall())
            senders = sorted({payload["from"] for payload in unique.values()
                              if payload["from"].startswith(bench.NEW_PREFIX)})
            cr.execute("SELECT phone, count(*) FROM res_partner WHERE phone = ANY(%s) GROUP BY phone",
                       [[f"+{sender}" for sender in senders]])
            contacts = dict(cr.fetchall())
    never_2xx = sum(1 for _first, _attempts, final in outcomes if not (final and 200 <= final < 300))
    first_failures = {}
    for (status, error), _attempts, _final in outcomes:
        if not (status and 200 <= status < 300):
            label = str(status) if status else error.split(":")[0]
            first_failures[label] = first_failures.get(label, 0) + 1
    figures = {
        "sent": len(deliveries), "unique": len(unique),
        "retried": sum(1 for _first, attempts, _final in outcomes if attempts > 1),
        "attempts": sum(attempts for _first, attempts, _final in outcomes),
        "failed_answers": first_failures, "never_2xx": never_2xx, "event_states": states,
        "posted_once": sum(1 for count in counts.values() if count == 1),
        "posted_never": sum(1 for count in counts.values() if count == 0),
        "posted_twice": sum(1 for count in counts.values() if count > 1),
        "new_senders": len(senders),
        "new_senders_not_one_contact": sum(1 for sender in senders if contacts.get(f"+{sender}") != 1),
    }
    figures["ok"] = (not never_2xx and figures["posted_once"] == len(unique)
                     and not figures["new_senders_not_one_contact"])
    return figures


def burst_with_fault(odoo, options, rng, fault, tag):
    """Deliver a burst (10 % duplicates), each retried until 2xx; ``fault()`` runs a third of the way in."""
    unique = bench.make_deliveries(int(options.deliveries * 0.9), rng, options.known, tag=tag)
    batch = unique + [rng.choice(unique) for _ in range(options.deliveries - len(unique))]
    rng.shuffle(batch)
    sent = [0]
    lock = threading.Lock()
    fault_at = len(batch) // 3
    fault_thread = []

    def send(payload):
        with lock:
            sent[0] += 1
            if sent[0] == fault_at:
                thread = threading.Thread(target=fault, daemon=True)
                thread.start()
                fault_thread.append(thread)
        return bench.deliver_until_2xx(odoo, payload, deadline)

    deadline = time.monotonic() + options.timeout
    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        outcomes = list(pool.map(send, batch))
    for thread in fault_thread:
        thread.join()
    return batch, outcomes


def scenario_pg_restart(odoo, cluster, options, rng):
    def restart():
        runner.say(f"stopping PostgreSQL (private cluster on port {cluster.port}) for {options.downtime:g} s")
        cluster._run(cluster.bindir / "pg_ctl", "-D", cluster.data, "-m", "fast", "-w", "stop", check=False)
        time.sleep(options.downtime)
        cluster._run(cluster.bindir / "pg_ctl", "-D", cluster.data, "-l", cluster.base / "postgresql.log", "-w",
                     "-o", f"-p {cluster.port} -k {cluster.base} -h 127.0.0.1", "start")
        runner.say("PostgreSQL started again")

    return burst_with_fault(odoo, options, rng, restart, tag="5")


def scenario_odoo_kill(odoo, _cluster, options, rng):
    def kill():
        runner.say("killing Odoo (SIGKILL on the whole process group)")
        os.killpg(odoo.process.pid, signal.SIGKILL)
        odoo.process.wait()
        time.sleep(1)
        odoo.start()
        runner.say("Odoo started again")

    return burst_with_fault(odoo, options, rng, kill, tag="6")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo", dest="odoo_path", help="Odoo 18 source tree (else $ODOO_PATH or importable)")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--deliveries", type=int, default=300, help="deliveries per scenario (10 %% duplicates)")
    parser.add_argument("--concurrency", type=int, default=10, help="deliveries in flight")
    parser.add_argument("--downtime", type=float, default=5, help="seconds PostgreSQL stays down")
    parser.add_argument("--timeout", type=float, default=300, help="seconds DIDWW keeps retrying a delivery")
    parser.add_argument("--known", type=int, default=200, help="known contacts on the database")
    parser.add_argument("--port", type=int, default=8182, help="HTTP port of the Odoo under test")
    parser.add_argument("--database", default="inbound_faults")
    options = parser.parse_args()
    rng = random.Random(7)
    cluster = runner.PrivateCluster().start()  # ours alone: restarting it disturbs nobody
    odoo = bench.BenchOdoo(options, server=cluster)
    results = {}
    try:
        odoo.install(options.known)
        odoo.start()
        for name in SCENARIOS if options.scenario == "all" else (options.scenario,):
            runner.say(f"scenario {name}: {options.deliveries} deliveries, {options.concurrency} in flight")
            function = scenario_pg_restart if name == "pg-restart" else scenario_odoo_kill
            batch, outcomes = function(odoo, cluster, options, rng)
            results[name] = reconcile(odoo, batch, outcomes, timeout=options.timeout)
            print_result(name, results[name])
    finally:
        odoo.stop()
        if odoo.process:
            odoo.drop()
        cluster.stop()
    failed = [name for name, figures in results.items() if not figures["ok"]]
    runner.say("all scenarios reconcile" if not failed else f"NOT reconciled: {', '.join(failed)}")
    return 1 if failed else 0


def print_result(name, figures):
    print(f"\n=== {name}: reconciliation ===")
    print(f"  sent {figures['sent']} deliveries ({figures['unique']} unique), {figures['attempts']} attempts, "
          f"{figures['retried']} retried by 'DIDWW'; first answers that were not 2xx: {figures['failed_answers']}")
    print(f"  never answered 2xx: {figures['never_2xx']}; events: {figures['event_states']}")
    print(f"  on the chatter: {figures['posted_once']} exactly once, {figures['posted_never']} missing, "
          f"{figures['posted_twice']} more than once; new senders with other than one contact: "
          f"{figures['new_senders_not_one_contact']}/{figures['new_senders']}")
    print(f"  {'RECONCILED' if figures['ok'] else 'NOT RECONCILED'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
