#!/usr/bin/env python3
"""Webhook fuzz suite against a running Odoo (``--workers=2``, throwaway database).

    python3 dev/fuzz.py [--odoo PATH] [--requests 10000] [--concurrency 8] [--seed 1]

Sends ``--requests`` generated requests (``tests/fuzz_webhook.py``: JSON, form, multipart, query
string; GET / POST / PUT; wrong types, nested values, huge and empty fields, binary, invalid UTF-8
and lone surrogates, truncated bodies, deep nesting, the raw-text template broken by quotes and line
breaks) to the webhook, and checks:

* no 5xx and no dropped connection, every answer a JSON object (``error`` on a 4xx), except the
  414 werkzeug's HTTP server gives a request line over 64 KB before Odoo sees it;
* nothing half-stored: the events in the database are exactly those whose ids the answers gave,
  and each stored payload parses again as a DIDWW event;
* once the processing cron has drained, each event is processed, or kept for a reason (a number the
  company does not have, a status for an SMS it never sent), never failed on an exception;
* Odoo is healthy afterwards: ``/web/health`` answers and a normal delivery lands on the chatter.

Loopback only, bounded by ``--requests`` and ``--timeout``. Exit status 0 when every check holds.
"""

import argparse
import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import didww as runner
import inbound_harness as bench
from addon_tools import ADDON, _load, load_tools


def send(odoo, fuzz):
    path = odoo.url() + (f"?{fuzz.query}" if fuzz.query else "")
    headers = {"Content-Type": fuzz.content_type} if fuzz.content_type else {}
    try:
        status, body = bench.request("127.0.0.1", odoo.port, fuzz.method, path, fuzz.body, headers, timeout=60)
    except (OSError, bench.http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}", None
    if status == 414:
        # a request line over 64 KB: refused by the HTTP server (werkzeug) before Odoo sees it
        return status, "", {"error": "request line too long"}
    try:
        answer = json.loads(body)
    except ValueError:
        return status, f"not JSON: {body[:200]!r}", None
    if not isinstance(answer, dict) or (status >= 400 and "error" not in answer):
        return status, f"unexpected answer {answer!r:.200}", None
    return status, "", answer


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo", dest="odoo_path", help="Odoo 18 source tree (else $ODOO_PATH or importable)")
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed to send and to drain")
    parser.add_argument("--port", type=int, default=8183)
    parser.add_argument("--database", default="inbound_fuzz")
    parser.add_argument("--known", type=int, default=50)
    options = parser.parse_args()
    fuzz_module = _load("fuzz_webhook", ADDON / "tests" / "fuzz_webhook.py")
    parse_event = load_tools().didww_webhook.parse_event
    odoo = bench.BenchOdoo(options)
    problems = []
    try:
        odoo.install(options.known)
        odoo.start()
        requests = list(fuzz_module.requests_for(options.requests, seed=options.seed, known=(bench.NUMBER,),
                                                 tag=f"fz{options.seed}"))
        runner.say(f"sending {len(requests)} generated requests, {options.concurrency} at a time")
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
            results = list(pool.map(lambda fuzz: send(odoo, fuzz), requests))
        seconds = time.monotonic() - start
        statuses, families, stored = {}, {}, set()
        for fuzz, (status, error, answer) in zip(requests, results, strict=True):
            label = str(status) if status else "dropped"
            statuses[label] = statuses.get(label, 0) + 1
            families.setdefault(fuzz.family, {}).setdefault(label, 0)
            families[fuzz.family][label] += 1
            if error or not status or status >= 500:
                problems.append(f"{fuzz.family} {fuzz.method} -> {label}: {error or answer}")
            elif answer.get("event"):
                stored.add(answer["event"])
        print(f"\n{len(requests)} requests in {seconds:.0f} s ({len(requests) / seconds:.0f}/s): {statuses}")
        for family, counts in sorted(families.items()):
            print(f"  {family:<13} {counts}")
        problems += check_store(odoo, stored, parse_event, options.timeout)
        problems += check_health(odoo)
    finally:
        odoo.stop()
        odoo.drop()
        odoo.db_server.stop()
    for problem in problems[:30]:
        print(f"  PROBLEM: {problem}")
    runner.say("fuzz: every check holds" if not problems else f"fuzz: {len(problems)} problem(s)")
    return 1 if problems else 0


def check_store(odoo, stored, parse_event, timeout):
    problems = []
    deadline = time.monotonic() + timeout
    with closing(odoo.connect()) as connection, connection.cursor() as cr:
        while time.monotonic() < deadline:  # drain: due events left to the cron
            cr.execute("SELECT count(*) FROM didww_webhook_event WHERE COALESCE(attempts, 0) = 0")
            if not cr.fetchone()[0]:
                break
            time.sleep(1)
        cr.execute("SELECT id, kind, state, result, payload FROM didww_webhook_event")
        rows = cr.fetchall()
    ids = {row[0] for row in rows}
    if ids != stored:
        problems.append(f"stored events differ from the answers: {len(ids - stored)} not answered with their id, "
                        f"{len(stored - ids)} answered but missing")
    states = {}
    for event_id, kind, state, result, payload in rows:
        states[(kind, state)] = states.get((kind, state), 0) + 1
        try:
            parse_event(json.loads(payload))
        except Exception as exc:  # noqa: BLE001
            problems.append(f"event {event_id}: stored payload does not parse again: {exc}")
        if state == "error" and not (kind == "inbound" and (result or "").startswith("unknown DIDWW number")):
            problems.append(f"event {event_id} failed: {result}")
        if state == "pending" and kind != "status":
            problems.append(f"event {event_id} still waiting: {result}")
    print(f"events stored: {len(rows)}; (kind, state): {states}")
    return problems


def check_health(odoo):
    problems = []
    status, _body = bench.request("127.0.0.1", odoo.port, "GET", "/web/health")
    if status != 200:
        problems.append(f"/web/health answered {status}")
    payload = bench.delivery(f"{bench.KNOWN_PREFIX}00001", f"bench-{random.Random(3).getrandbits(32):08x}")
    payload["data"] = bench.base64.b64encode(b"after the fuzz").decode()
    status, error = bench.deliver(odoo, payload)
    if status != 200:
        problems.append(f"a normal delivery after the fuzz answered {status} {error}")
    key = f"inbound:uuid:{payload['uuid']}"
    deadline = time.monotonic() + 60
    with closing(odoo.connect()) as connection, connection.cursor() as cr:
        while time.monotonic() < deadline:
            cr.execute("SELECT state FROM didww_webhook_event WHERE dedupe_key = %s", [key])
            row = cr.fetchone()
            if row and row[0] == "done":
                print("healthy afterwards: /web/health 200, a normal delivery posted")
                return problems
            time.sleep(0.5)
    problems.append("a normal delivery after the fuzz was not posted within 60 s")
    return problems


if __name__ == "__main__":
    sys.exit(main())
