#!/usr/bin/env python3
"""Flood: what someone holding a company's webhook URL can make Odoo store.

    python3 dev/flood.py [--odoo PATH | --odoo-source SRC] [--seconds 60] [--concurrency 8]

For ``--seconds`` (loopback only, bounded in time), half of the senders post inbound SMS to
numbers the company does not have, each padded with about 250 KB of extra keys; the other half
post valid SMS to the company's number from a new sender each time (each could create a contact).
Prints what the webhook answered, how much the event table grew (MB, MB/s) and the contacts created
per minute: the webhook's limits (deliveries and new senders a minute, unknown-number events an
hour) and the payload cap are what keep both bounded. Odoo serves with ``--workers=2`` on a
throwaway database, dropped at the end.
"""

import argparse
import json
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import didww as runner
import inbound_harness as bench

PADDING = "x" * (250 * 1024)


def measure(odoo):
    with odoo.connect() as connection, connection.cursor() as cr:
        cr.execute("SELECT pg_total_relation_size('didww_webhook_event'), (SELECT count(*) FROM didww_webhook_event),"
                   " (SELECT count(*) FROM res_partner)")
        return cr.fetchone()


def wait_processed(odoo, timeout):
    """Seconds until no accepted inbound SMS waits to be processed (None past ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with odoo.connect() as connection, connection.cursor() as cr:
            cr.execute("SELECT count(*) FROM didww_webhook_event WHERE state = 'pending'")
            if not cr.fetchone()[0]:
                return time.monotonic() - started
        time.sleep(1)
    return None


def flood(odoo, options):
    answers = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + options.seconds
    counter = iter(range(10**9))

    def sender(kind):
        while time.monotonic() < deadline:
            index = next(counter)
            if kind == "unknown":
                payload = dict(bench.delivery(f"3706{index:07d}", "hello"), to=f"3705{index:07d}", junk=PADDING)
            else:
                payload = bench.delivery(f"{bench.NEW_PREFIX}{index % 100000:05d}", "hello from a new sender")
            status, _error = bench.deliver(odoo, payload, timeout=30)
            with lock:
                answers[(kind, status)] += 1

    kinds = ["unknown", "new sender"] * (options.concurrency // 2)
    with ThreadPoolExecutor(len(kinds)) as pool:
        list(pool.map(sender, kinds))
    return answers


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--odoo", dest="odoo_path")
    parser.add_argument("--odoo-source")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=8182)
    parser.add_argument("--database", default="flood_bench")
    options = parser.parse_args()
    options.seconds = min(options.seconds, 300)  # bounded, whatever is asked
    odoo = bench.BenchOdoo(options)
    odoo.install(known=0, max_events=6000, max_new_senders=600)  # the defaults of a new company
    try:
        odoo.start()
        size0, events0, partners0 = measure(odoo)
        started = time.monotonic()
        answers = flood(odoo, options)
        elapsed = time.monotonic() - started
        size1, events1, _partners = measure(odoo)
        drained = wait_processed(odoo, timeout=120)  # the accepted texts' contacts are created then
        _size, _events, partners1 = measure(odoo)
    finally:
        odoo.stop()
        odoo.drop()
    grown = (size1 - size0) / 1e6
    print(json.dumps({f"{kind} -> {status}": count for (kind, status), count in sorted(
        answers.items(), key=lambda item: (item[0][0], str(item[0][1])))}, indent=2))
    print(f"load before/after: {bench.load_average()}")
    print(f"{sum(answers.values())} deliveries in {elapsed:.0f} s")
    print(f"event table: +{grown:.1f} MB ({grown / elapsed:.2f} MB/s), +{events1 - events0} events")
    when = f"{drained:.0f} s after the flood" if drained is not None else "NOT within 120 s"
    print(f"contacts created: {partners1 - partners0} ({(partners1 - partners0) / elapsed * 60:.0f} per minute of "
          f"flood), every accepted text processed {when}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(runner.ROOT / "dev"))
    sys.exit(main())
