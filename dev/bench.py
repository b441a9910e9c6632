#!/usr/bin/env python3
"""Throughput of the outbound SMS path against a fake DIDWW on 127.0.0.1 (figures, not a test).

    python3 dev/bench.py [--messages 1000] [--latency 0.05]         # the protocol client alone
    python3 dev/bench.py --odoo [--messages 1000] [--big 10000]     # plus Odoo's queue, end to end
    python3 dev/bench.py --inbound [--inbound-seconds 60] [--inbound-rate 50] [--burst 1000]
                                                                    # the inbound webhook (see bench_inbound.py)

DIDWW answers each request after ``--latency`` seconds (a realistic round trip); the client
sends the same batch one by one and then with 4, 8 and 16 requests in flight, as the Odoo
queue does (``Parallel SMS requests`` in the settings). With ``--odoo`` the addon is installed on
a throwaway database (found like ``dev/didww.py test`` does) and mass SMS are queued by the
composer and sent by the queue (see ``bench_outbound.py``). Only loopback traffic, bounded in count.
"""

import argparse
import os
import time

import bench_inbound
import bench_outbound
import didww as runner
from addon_tools import load_fake, load_tools


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench_outbound.add_arguments(parser)
    parser.add_argument("--messages", type=int, default=1000)
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
        bench_outbound.run(options)


def client_bench(options):
    tools, fake_module = load_tools(), load_fake()
    fake = fake_module.FakeDidww().start()
    fake.response_delay = options.latency
    messages = [(i, "+37041123456", f"+3706{i:07d}", f"Benchmark message {i} ✓") for i in range(options.messages)]
    print(f"{options.messages} SMS, DIDWW latency {options.latency * 1000:.0f} ms")
    print(f"{'in flight':>9}  {'seconds':>8}  {'SMS/s':>8}  {'max seen':>8}")
    try:
        for workers in (1, 4, 8, 16):
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
