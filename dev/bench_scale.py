#!/usr/bin/env python3
"""Inbox processing scaled out (figures and checks, not a test): ``python3 dev/bench_scale.py``.

Two Odoo server processes (``--workers=2`` each) serve one throwaway database, as two servers of
one deployment would. For 1, 2 and 4 cron workers in all (``--max-cron-threads`` 1+0, 1+1, 2+2):

1. a burst of ``--deliveries`` (1,000) from ``--senders`` (200) new senders, split between the two
   servers (each sender's texts one after the other, alternating servers; senders side by side),
   stored with the processing crons switched off;
2. the processing crons switched on and woken: every cron worker of both servers claims from the
   one inbox. Printed: the processing throughput (stored -> last text on its chatter), and the
   checks: every text posted exactly once, each sender's texts in the order they were stored, and
   one contact per new sender.

Loopback only; the machine's load average is printed with the figures (a shared machine's
figures are an order of magnitude).
"""

import argparse
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

import didww as runner
import inbound_harness as harness

LAYOUTS = "1+0,1+1,2+2"  # cron workers on server A + server B, for each round


def deliver_sender(servers, sender, texts, rng):
    """One sender's texts, one after the other (as DIDWW delivers a conversation), alternating
    servers from a random first one; each retried until a 2xx."""
    first = rng.randrange(2)
    failures = 0
    for index, text in enumerate(texts):
        server = servers[(first + index) % 2]
        payload = harness.delivery(sender, text)
        deadline = time.monotonic() + 120
        _first, attempts, status, _at = harness.deliver_until_2xx(server, payload, deadline)
        failures += attempts - 1 if status and 200 <= status < 300 else attempts
    return failures


def run_layout(options, odoo_a, odoo_b, layout, round_index, rng):
    tag = f"scale{round_index}"
    senders = [f"{harness.NEW_PREFIX}{round_index}{index:04d}" for index in range(options.senders)]
    per_sender = options.deliveries // options.senders
    servers = []
    for odoo, workers in zip((odoo_a, odoo_b), layout, strict=True):
        odoo.start(log_path=runner.WORK / f"{odoo.db}-{odoo.port}.log", extra_args=[f"--max-cron-threads={workers}"])
        servers.append(odoo)
    connection = odoo_a.connect()
    try:
        with connection.cursor() as cr:
            cr.execute("""SELECT c.id FROM ir_cron c JOIN ir_act_server a ON a.id = c.ir_actions_server_id
                          WHERE a.model_name = 'didww.webhook.event' AND a.code LIKE '%%_cron_process_pending(%%'""")
            crons = [row[0] for row in cr.fetchall()]
            cr.execute("UPDATE ir_cron SET active = false WHERE id = ANY(%s)", [crons])
            cr.execute("SELECT coalesce(max(id), 0) FROM didww_webhook_event")
            since = cr.fetchone()[0]
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
            failures = sum(pool.map(lambda sender: deliver_sender(
                servers, sender, [f"{tag}-{sender}-{seq}" for seq in range(per_sender)], random.Random(sender)),
                senders))
        stored_s = time.monotonic() - start
        with connection.cursor() as cr:
            cr.execute("SELECT count(*) FROM didww_webhook_event WHERE state = 'pending'")
            waiting = cr.fetchone()[0]
            cr.execute("UPDATE ir_cron SET active = true WHERE id = ANY(%s)", [crons])
            cr.execute("INSERT INTO ir_cron_trigger (cron_id, call_at) SELECT id, now() at time zone 'UTC' "
                       "FROM unnest(%s::int[]) AS id", [crons])
            cr.execute("SELECT pg_notify('cron_trigger', %s)", [odoo_a.db])
            woken = time.monotonic()
            deadline = woken + options.timeout
            while time.monotonic() < deadline:
                cr.execute("SELECT count(*) FROM didww_webhook_event WHERE state = 'pending'")
                if not cr.fetchone()[0]:
                    break
                time.sleep(0.05)
            drained_s = time.monotonic() - woken
            return check(cr, tag, since, senders, per_sender, layout, waiting, stored_s, drained_s, failures)
    finally:
        connection.close()
        for odoo in servers:
            odoo.stop()


def check(cr, tag, since, senders, per_sender, layout, waiting, stored_s, drained_s, failures):
    cr.execute(r"SELECT id, substring(body from %s) FROM mail_message WHERE body LIKE %s ORDER BY id",
               [rf"{tag}-[0-9]+-[0-9]+", f"%{tag}-%"])
    posted = {}  # sender -> [seq in posting order]
    for _id, marker in cr.fetchall():
        _tag, sender, seq = marker.split("-")
        posted.setdefault(sender, []).append(int(seq))
    expected = list(range(per_sender))
    twice = sum(1 for seqs in posted.values() for seq in set(seqs) if seqs.count(seq) > 1)
    missing = sum(len(set(expected) - set(posted.get(sender, []))) for sender in senders)
    disordered = [sender for sender in senders if posted.get(sender, []) != sorted(posted.get(sender, []))]
    out_of_order = len(disordered)
    for sender in disordered[:5]:  # what happened to each text of a sender posted out of order
        cr.execute("SELECT e.id, e.attempts, e.state, e.result, e.write_date, e.create_date FROM didww_webhook_event e "
                   "WHERE e.id > %s AND e.payload LIKE %s ORDER BY e.id", [since, f"%{sender}%"])
        print(f"out of order: sender {sender}, posted {posted.get(sender)}", flush=True)
        for row in cr.fetchall():
            print("   event", *row, flush=True)
    cr.execute("SELECT phone, count(*) FROM res_partner WHERE phone = ANY(%s) GROUP BY phone",
               [[f"+{sender}" for sender in senders]])
    contacts = dict(cr.fetchall())
    not_one_contact = sum(1 for sender in senders if contacts.get(f"+{sender}") != 1)
    cr.execute("SELECT state, count(*) FROM didww_webhook_event WHERE id > %s GROUP BY state", [since])
    states = dict(cr.fetchall())
    return {"cron_workers": sum(layout), "layout": layout, "events": waiting, "stored_s": stored_s,
            "drained_s": drained_s, "per_s": waiting / drained_s if drained_s else float("nan"),
            "twice": twice, "missing": missing, "out_of_order": out_of_order, "not_one_contact": not_one_contact,
            "states": states, "retried_deliveries": failures}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo-path", dest="odoo_path")
    parser.add_argument("--odoo-source", help="where to get Odoo when none is given, as for dev/didww.py")
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50, help="senders delivering at once")
    parser.add_argument("--port", type=int, default=8190, help="HTTP port of server A (server B: the next one)")
    parser.add_argument("--database", default="inbound_scale", help="throwaway database (dropped after)")
    parser.add_argument("--layouts", default=LAYOUTS, help="cron workers on server A + server B, per round")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a round may take to process")
    options = parser.parse_args()
    options.inbound_known = 10
    if not os.environ.get("_DIDWW_ODOO_TREE"):
        runner.WORK.mkdir(exist_ok=True)
        runner.provide_odoo(argparse.Namespace(odoo=options.odoo_path, odoo_source=options.odoo_source,
                                               command="run"))
    odoo_a = harness.BenchOdoo(options)
    odoo_b = harness.BenchOdoo(argparse.Namespace(**dict(vars(options), port=options.port + 1)),
                                     server=odoo_a.db_server)
    results = []
    try:
        odoo_a.install(known=10)
        odoo_b.company, odoo_b.secret = odoo_a.company, odoo_a.secret
        rng = random.Random(20)
        layouts = [tuple(int(count) for count in layout.split("+")) for layout in options.layouts.split(",")]
        for round_index, layout in enumerate(layouts, start=1):
            load = harness.load_average()
            runner.say(f"{sum(layout)} cron worker(s): {layout[0]} on server A, {layout[1]} on server B "
                       f"(load average {load})")
            figures = run_layout(options, odoo_a, odoo_b, layout, round_index, rng)
            figures["load"] = f"{load} -> {harness.load_average()}"
            print("RESULT " + json.dumps(figures), flush=True)
            results.append(figures)
    finally:
        odoo_a.stop()
        odoo_b.stop()
        odoo_a.drop()
        odoo_a.db_server.stop()
    report(options, results)


def report(options, results):
    print(f"\n=== inbox processing, two Odoo servers (--workers=2 each) on one database: {options.deliveries} "
          f"deliveries from {options.senders} new senders, split between the servers ===")
    print(f"{'cron workers':>12} {'A+B':>5} {'stored':>8} {'processed in':>13} {'events/s':>9}  checks (load average)")
    for figures in results:
        bad = [name for name in ("twice", "missing", "out_of_order", "not_one_contact") if figures[name]]
        checks = "ok: each text once, in order per sender, one contact each" if not bad else "MISSED: " + ", ".join(
            f"{name} {figures[name]}" for name in bad)
        print(f"{figures['cron_workers']:>12} {figures['layout'][0]}+{figures['layout'][1]:<3} "
              f"{figures['events']:>8} {figures['drained_s']:>11.1f} s {figures['per_s']:>9.1f}  {checks} "
              f"({figures['load']}); states {figures['states']}")
    print("(processing is timed alone: deliveries are stored with the processing crons off, then every cron "
          "worker is woken; the machine is shared, figures under load are an order of magnitude)")
    if any(figures[name] for figures in results for name in ("twice", "missing", "out_of_order", "not_one_contact")):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
