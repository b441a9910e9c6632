"""The inbound webhook under load (figures, not a test): ``python3 dev/bench.py --inbound``.

Odoo runs in production mode (``--workers=2``) on a throwaway database with the addon, a DIDWW
number assigned to three users and ``--known`` contacts. DIDWW-style JSON deliveries (the
recommended template, with ``uuid``), half from known contacts and half from new senders:

1. paced at ``--inbound-rate`` per second for ``--inbound-seconds``: p50 / p99 of the webhook's
   answer (from the moment each delivery was due, so a slow server cannot hide queueing), against
   the p99 of a trivial Odoo route (``/web/health``) probed in the same run; then the time from each
   2xx to its message on the chatter (a second connection polls the events table: an event turns
   ``done`` in the transaction that posts its message), and whether each was posted exactly once;
2. a burst of ``--burst`` deliveries with 10 % duplicates, ``--concurrency`` at a time: answers,
   5xx, dropped connections, and each unique message posted exactly once;
3. SQL queries per stored and per processed delivery, in-process on the same database.

Load-independent figures come with each phase: the CPU seconds the HTTP workers (storing) and the
cron workers (processing) spent, each with its PostgreSQL backends, per 1,000 deliveries
(:class:`inbound_harness.CpuMeter`), and the queries and CPU per delivery in-process. Wall-clock
figures (answer times, drain) depend on the machine's load, printed with them.

Loopback only, bounded in count and time. The harness (Odoo on a throwaway database, deliveries,
what was posted) is ``dev/inbound_harness.py``, shared with the fault, fuzz and scale scripts.
"""

import itertools
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from inbound_harness import (
    NEW_PREFIX,
    BenchOdoo,
    CpuMeter,
    DonePoller,
    deliver,
    deliver_until_2xx,
    load_average,
    make_deliveries,
    percentile,
    posted_counts,
    request,
)

GOALS = {"answer_p99_ms": 150, "answer_vs_trivial": 3, "chatter_p99_s": 5,
         # issue 20: last answer -> last text on its chatter (3,000 at 50 at a time; 150/s for 30 s)
         "burst_drain_s": 15, "paced_drain_s": 5}


def add_arguments(parser):
    group = parser.add_argument_group("inbound webhook (--inbound)")
    group.add_argument("--inbound", action="store_true", help="benchmark the inbound webhook instead")
    group.add_argument("--inbound-seconds", type=float, default=10, help="paced phase length (issue #11: 60)")
    group.add_argument("--inbound-rate", type=float, default=50, help="deliveries per second when paced")
    group.add_argument("--burst", type=int, default=300, help="deliveries in the burst (issue #11: 1000)")
    group.add_argument("--concurrency", type=int, default=50, help="deliveries in flight during the burst")
    group.add_argument("--known", type=int, default=500, help="known contacts on the database")
    group.add_argument("--port", type=int, default=8180, help="HTTP port of the benchmarked Odoo")
    group.add_argument("--database", default="inbound_bench", help="throwaway database (dropped after)")
    group.add_argument("--nginx", action="store_true",
                       help="serve through nginx on --port in front of Odoo (--proxy-mode), as the README's "
                            "Deployment section says; nginx is installed with apt-get when missing")
    group.add_argument("--db-filter", action="store_true",
                       help="serve with --db-filter as well as -d (Odoo then lists databases on every request "
                            "without a session, on a new PostgreSQL connection)")


# ----------------------------------------------------------------------------------------------
# Phases
# ----------------------------------------------------------------------------------------------

def warm_up(odoo, options, rng, poller):
    """Every worker loads the registry on its first request, the cron worker on its first job."""
    payloads = make_deliveries(20, rng, options.known, tag="0")
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda payload: deliver(odoo, payload, timeout=120), payloads))
        list(pool.map(lambda _i: request("127.0.0.1", odoo.port, "GET", "/web/health", timeout=120), range(8)))
    poller.wait_for([f"inbound:uuid:{payload['uuid']}" for payload in payloads], timeout=120)
    # one at a time, nothing else running: what a delivery and the trivial route cost by themselves
    webhook, trivial = [], []
    for payload in make_deliveries(20, rng, options.known, tag="0"):
        start = time.monotonic()
        deliver(odoo, payload)
        webhook.append(time.monotonic() - start)
        start = time.monotonic()
        request("127.0.0.1", odoo.port, "GET", "/web/health")
        trivial.append(time.monotonic() - start)
    time.sleep(2)
    return {"webhook_ms": percentile(webhook, 0.5) * 1000, "trivial_ms": percentile(trivial, 0.5) * 1000}


def paced(odoo, options, rng, poller, meter):
    total = int(options.inbound_seconds * options.inbound_rate)
    deliveries = make_deliveries(total, rng, options.known, tag="1")
    answers = {}  # index -> (latency s, status, error, answered at)
    trivial, trivial_failed = [], []
    stop_probe = threading.Event()

    def probe():
        while not stop_probe.is_set():
            start = time.monotonic()
            try:
                request("127.0.0.1", odoo.port, "GET", "/web/health", timeout=30)
                trivial.append(time.monotonic() - start)
            except OSError:
                trivial_failed.append(1)
            time.sleep(0.1)

    def send(index, due):
        status, error = deliver(odoo, deliveries[index])
        now = time.monotonic()
        answers[index] = (now - due, status, error, now)

    prober = threading.Thread(target=probe, daemon=True)
    cpu_before = meter.totals()
    prober.start()
    print(f"\npaced: {total} deliveries at {options.inbound_rate:g}/s for {options.inbound_seconds:g} s "
          "(half known contacts, half new senders)", flush=True)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=128) as pool:
        for index in range(total):
            due = start + index / options.inbound_rate
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(send, index, due)
    stop_probe.set()
    prober.join()
    ok = [index for index, (_latency, status, _error, _at) in answers.items() if status == 200]
    keys = {index: f"inbound:uuid:{deliveries[index]['uuid']}" for index in ok}
    missing = poller.wait_for(list(keys.values()), timeout=max(60.0, options.inbound_seconds * 2))
    cpu = cpu_per_1000(cpu_before, meter.totals(), stored=len(ok), processed=len(keys) - len(missing))
    latencies = [answers[index][0] for index in range(total)]
    chatter = [poller.seen[key] - answers[index][3] for index, key in keys.items() if key in poller.seen]
    last_answer = max((answers[index][3] for index in ok), default=start)
    drain = max((poller.seen[key] for key in keys.values() if key in poller.seen), default=last_answer) - last_answer
    counts = posted_counts(poller.connection, [f"bench-{deliveries[index]['uuid']}" for index in ok])
    statuses = {}
    for _latency, status, error, _at in answers.values():
        label = str(status) if status else "dropped"
        statuses[label] = statuses.get(label, 0) + 1
        if error and statuses[label] <= 3:
            print(f"  {label}: {error}")
    return {
        "total": total, "statuses": statuses,
        "answer_p50_ms": percentile(latencies, 0.5) * 1000, "answer_p95_ms": percentile(latencies, 0.95) * 1000,
        "answer_p99_ms": percentile(latencies, 0.99) * 1000, "cpu": cpu,
        "answer_max_ms": max(latencies) * 1000,
        "trivial_p50_ms": percentile(trivial, 0.5) * 1000, "trivial_p99_ms": percentile(trivial, 0.99) * 1000,
        "trivial_n": len(trivial), "trivial_failed": len(trivial_failed),
        "chatter_p50_s": percentile(chatter, 0.5), "chatter_p99_s": percentile(chatter, 0.99),
        "chatter_max_s": max(chatter) if chatter else float("nan"), "drain_s": drain,
        "not_posted": len(missing), "posted_twice": sum(1 for count in counts.values() if count > 1),
        "posted_never": sum(1 for count in counts.values() if count == 0),
    }


def burst(odoo, options, rng, poller, meter):
    unique = make_deliveries(int(options.burst * 0.9), rng, options.known, tag="2")
    batch = unique + [rng.choice(unique) for _ in range(options.burst - len(unique))]
    rng.shuffle(batch)
    print(f"\nburst: {len(batch)} deliveries ({len(batch) - len(unique)} duplicates), "
          f"{options.concurrency} at a time", flush=True)
    cpu_before = meter.totals()
    start = time.monotonic()
    deadline = start + 300

    def send(payload):
        sent = time.monotonic()
        outcome = deliver_until_2xx(odoo, payload, deadline)
        return (*outcome, outcome[3] - sent)

    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        sent = list(pool.map(send, batch))
    outcomes = [outcome[:4] for outcome in sent]
    latencies = [outcome[4] for outcome in sent]
    seconds = time.monotonic() - start
    results = [first for first, _attempts, _final, _at in outcomes]
    retried = sum(1 for _first, attempts, _final, _at in outcomes if attempts > 1)
    never_2xx = sum(1 for _first, _attempts, final, _at in outcomes if not (final and 200 <= final < 300))
    last_answer = max(at for _first, _attempts, _final, at in outcomes)
    statuses = {}
    for status, error in results:
        label = str(status) if status else "dropped"
        statuses[label] = statuses.get(label, 0) + 1
        if error and statuses[label] <= 3:
            print(f"  {label}: {error}")
    keys = [f"inbound:uuid:{payload['uuid']}" for payload in unique]
    missing = poller.wait_for(keys, timeout=max(120.0, len(unique) / 5))
    processed_at = max((poller.seen[key] for key in keys if key in poller.seen), default=start)
    cpu = cpu_per_1000(cpu_before, meter.totals(), stored=len(unique), processed=len(keys) - len(missing))
    counts = posted_counts(poller.connection, [f"bench-{payload['uuid']}" for payload in unique])
    with poller.connection.cursor() as cr:
        senders = sorted({payload["from"] for payload in unique if payload["from"].startswith(NEW_PREFIX)})
        cr.execute("SELECT phone, count(*) FROM res_partner WHERE phone = ANY(%s) GROUP BY phone",
                   [[f"+{sender}" for sender in senders]])
        contacts = dict(cr.fetchall())
    return {
        "total": len(batch), "unique": len(unique), "statuses": statuses, "seconds": seconds,
        "retried": retried, "never_2xx": never_2xx,
        "answers_per_s": len(batch) / seconds, "all_posted_s": processed_at - start, "cpu": cpu,
        "answer_p50_ms": percentile(latencies, 0.5) * 1000, "answer_p95_ms": percentile(latencies, 0.95) * 1000,
        "drain_s": processed_at - last_answer, "longest_pause_s": longest_pause(poller, keys),
        "fivexx": sum(count for label, count in statuses.items() if label.startswith("5")),
        "dropped": statuses.get("dropped", 0), "not_posted": len(missing),
        "posted_twice": sum(1 for count in counts.values() if count > 1),
        "posted_never": sum(1 for count in counts.values() if count == 0),
        "new_senders": len(senders),
        "new_senders_not_one_contact": sum(1 for sender in senders if contacts.get(f"+{sender}") != 1),
    }


def cpu_per_1000(before, after, stored, processed):
    """CPU seconds (Odoo's workers and their PostgreSQL backends) per 1,000 stored and per 1,000
    processed deliveries, between two :meth:`CpuMeter.totals`."""
    return {"storing": (after["storing"] - before["storing"]) * 1000 / max(stored, 1),
            "processing": (after["processing"] - before["processing"]) * 1000 / max(processed, 1)}


def longest_pause(poller, keys):
    """The longest time between two texts reaching their chatters: a run waiting for the cron
    workers' next minute shows as a pause of about 60 s, whatever the machine's load."""
    seen = sorted(poller.seen[key] for key in keys if key in poller.seen)
    return max((later - earlier for earlier, later in itertools.pairwise(seen)), default=0.0)


def queries(odoo, options, rng):
    payloads = make_deliveries(100, rng, options.known, tag="3")
    figures = odoo.script("inbound_queries", "QUERIES", payloads=payloads)
    figures["per_store"] = figures["stored"] / len(payloads)
    figures["per_processed"] = figures["processed"] / max(figures["done"], 1)
    figures["ms_per_processed"] = figures["seconds"] * 1000 / max(figures["done"], 1)
    figures["cpu_per_1000_stored"] = figures["store_cpu"] * 1000 / len(payloads)
    figures["cpu_per_1000_processed"] = figures["process_cpu"] * 1000 / max(figures["done"], 1)
    figures["count"] = len(payloads)
    # the floor: Odoo posting the same number of notes on known contacts, notifying the same users
    floor = odoo.script("post_floor", "FLOOR", count=len(payloads))
    figures["floor_cpu_per_1000"] = floor["cpu"] * 1000 / max(floor["count"], 1)
    return figures


def server_side(odoo, since):
    """Odoo's own figures for each webhook request (werkzeug's log line ends with: queries, SQL
    seconds, other seconds), from the log lines written after ``since`` (a byte offset)."""
    queries, sql, other = [], [], []
    with open(odoo.log_path, "rb") as handle:
        handle.seek(since)
        for line in handle.read().decode("utf-8", "replace").splitlines():
            match = re.search(r'"POST /didww/webhook/\S+ HTTP/[0-9.]+" 200 - (\d+) ([0-9.]+) ([0-9.]+)', line)
            if match:
                queries.append(int(match.group(1)))
                sql.append(float(match.group(2)))
                other.append(float(match.group(3)))
    return {"requests": len(queries), "queries": percentile(queries, 0.5),
            "sql_ms": percentile(sql, 0.5) * 1000, "other_ms": percentile(other, 0.5) * 1000,
            "total_p99_ms": percentile([a + b for a, b in zip(sql, other, strict=True)], 0.99) * 1000}


def run(options):
    rng = random.Random(11)
    odoo = BenchOdoo(options)
    try:
        odoo.install(options.known)
        sql = queries(odoo, options, rng)
        odoo.start()
        poller = DonePoller(odoo)
        poller.start()
        meter = None
        try:
            alone = warm_up(odoo, options, rng, poller)
            meter = CpuMeter(odoo)
            meter.start()
            load_before = load_average()
            log_offset = odoo.log_path.stat().st_size
            paced_figures = paced(odoo, options, rng, poller, meter)
            paced_figures["server"] = server_side(odoo, log_offset)
            burst_figures = burst(odoo, options, rng, poller, meter)
            load_before = f"{load_before}, after: {load_average()}"
        finally:
            if meter:
                meter.stop()
            poller.stop()
    finally:
        odoo.stop()
        odoo.drop()
        odoo.db_server.stop()
    report(options, paced_figures, burst_figures, sql, load_before, alone)


def report(options, paced_figures, burst, sql, load_before, alone):
    p = paced_figures
    ratio = p["answer_p99_ms"] / p["trivial_p99_ms"] if p["trivial_p99_ms"] else float("inf")

    def verdict(ok):
        return "ok" if ok else "MISSED"

    served = ("-d and --db-filter" if options.db_filter else "-d, no --db-filter") + (
        ", behind nginx (--proxy-mode)" if getattr(options, "nginx", False) else "")
    print(f"\n=== inbound webhook, Odoo --workers=2, {served} (load average before the run: {load_before}) ===")
    print(f"one at a time: webhook answer {alone['webhook_ms']:.1f} ms, /web/health {alone['trivial_ms']:.1f} ms "
          f"(medians of 20)")
    print(f"paced {p['total']} deliveries at {options.inbound_rate:g}/s for {options.inbound_seconds:g} s; "
          f"answers: {p['statuses']}")
    print(f"  webhook answer   p50 {p['answer_p50_ms']:7.1f} ms   p95 {p['answer_p95_ms']:7.1f} ms   "
          f"p99 {p['answer_p99_ms']:7.1f} ms   max {p['answer_max_ms']:7.1f} ms   "
          f"[goal p99 <= {GOALS['answer_p99_ms']} ms: {verdict(p['answer_p99_ms'] <= GOALS['answer_p99_ms'])}]")
    server = p["server"]
    print(f"  inside Odoo (werkzeug's log, {server['requests']} webhook requests): median {server['queries']} queries, "
          f"{server['sql_ms']:.1f} ms SQL + {server['other_ms']:.1f} ms Python; p99 total "
          f"{server['total_p99_ms']:.0f} ms (the rest of the answer time is waiting for a free worker)")
    print(f"  /web/health      p50 {p['trivial_p50_ms']:7.1f} ms   p99 {p['trivial_p99_ms']:7.1f} ms   "
          f"({p['trivial_n']} probes answered, {p['trivial_failed']} dropped)")
    print(f"  ratio webhook p99 / trivial p99: {ratio:.1f}x   [goal <= {GOALS['answer_vs_trivial']}x: "
          f"{verdict(ratio <= GOALS['answer_vs_trivial'])}]")
    print(f"  2xx -> chatter   p50 {p['chatter_p50_s']:7.2f} s    p99 {p['chatter_p99_s']:7.2f} s    "
          f"max {p['chatter_max_s']:7.2f} s    [goal p99 <= {GOALS['chatter_p99_s']} s: "
          f"{verdict(p['chatter_p99_s'] <= GOALS['chatter_p99_s'])}]")
    print(f"  drain: last answer -> last text on its chatter {p['drain_s']:.1f} s   "
          f"[goal at 150/s for 30 s <= {GOALS['paced_drain_s']} s: {verdict(p['drain_s'] <= GOALS['paced_drain_s'])}]")
    print(f"  CPU (Odoo's workers and their PostgreSQL backends): {p['cpu']['storing']:.1f} s per 1,000 stored, "
          f"{p['cpu']['processing']:.1f} s per 1,000 processed")
    once = not (p["not_posted"] or p["posted_never"] or p["posted_twice"])
    print(f"  exactly once: {p['not_posted']} not processed, {p['posted_never']} never posted, "
          f"{p['posted_twice']} posted twice   [{verdict(once)}]")
    b = burst
    bad_keys = ("fivexx", "dropped", "not_posted", "posted_never", "posted_twice", "new_senders_not_one_contact")
    print(f"burst {b['total']} deliveries ({b['total'] - b['unique']} duplicates), {options.concurrency} concurrent: "
          f"first answers {b['statuses']} in {b['seconds']:.1f} s ({b['answers_per_s']:.0f}/s), all posted after "
          f"{b['all_posted_s']:.1f} s")
    print(f"  answers (until 2xx) p50 {b['answer_p50_ms']:.0f} ms, p95 {b['answer_p95_ms']:.0f} ms; CPU: "
          f"{b['cpu']['storing']:.1f} s per 1,000 stored, {b['cpu']['processing']:.1f} s per 1,000 processed")
    print(f"  drain: last answer -> last text on its chatter {b['drain_s']:.1f} s   [goal for 3,000 at 50 at a time "
          f"<= {GOALS['burst_drain_s']} s: {verdict(b['drain_s'] <= GOALS['burst_drain_s'])}]; longest pause in "
          f"processing {b['longest_pause_s']:.1f} s")
    print(f"  first attempts: 5xx {b['fivexx']}, dropped {b['dropped']}; retried as DIDWW does: {b['retried']}, "
          f"never answered 2xx: {b['never_2xx']}")
    print(f"  5xx: {b['fivexx']}, dropped: {b['dropped']}, not processed: {b['not_posted']}, never posted: "
          f"{b['posted_never']}, posted twice: {b['posted_twice']}, new senders with other than one contact: "
          f"{b['new_senders_not_one_contact']}/{b['new_senders']}   "
          f"[{verdict(not any(b[key] for key in bad_keys))}]")
    print(f"SQL queries ({sql['count']} deliveries in-process): {sql['per_store']:.1f} per stored delivery, "
          f"{sql['per_processed']:.1f} per processed delivery ({sql['ms_per_processed']:.1f} ms each); CPU with its "
          f"PostgreSQL backend: {sql['cpu_per_1000_stored']:.1f} s per 1,000 stored, "
          f"{sql['cpu_per_1000_processed']:.1f} s per 1,000 processed")
    print(f"  of which Odoo's own posting (message_post of a note notifying the number's users in their Inbox, "
          f"without the addon's routing): {sql['floor_cpu_per_1000']:.1f} s per 1,000")
    print(f"summary (load {load_before}): burst drain {b['drain_s']:.1f} s, answers p50/p95 {b['answer_p50_ms']:.0f}/"
          f"{b['answer_p95_ms']:.0f} ms; paced drain {p['drain_s']:.1f} s, answers p50/p95 {p['answer_p50_ms']:.0f}/"
          f"{p['answer_p95_ms']:.0f} ms; SQL per stored/processed {sql['per_store']:.1f}/{sql['per_processed']:.1f}; "
          f"CPU s per 1,000 processed {b['cpu']['processing']:.1f} (burst), {p['cpu']['processing']:.1f} (paced), "
          f"{sql['cpu_per_1000_processed']:.1f} (in-process; Odoo's posting alone {sql['floor_cpu_per_1000']:.1f})")
    print("(the machine is shared with other work: figures taken under load are an order of magnitude)")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo-path", dest="odoo_path")
    add_arguments(parser)
    run(parser.parse_args())
