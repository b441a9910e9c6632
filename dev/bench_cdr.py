#!/usr/bin/env python3
"""Import of DIDWW call records (CDR exports), figures not a test.

    python3 dev/bench_cdr.py [--rows 100000] [--contacts 2000] [--profile] [--odoo-path PATH | --odoo-source SRC]

On a throwaway database with the addon installed: two DIDWW numbers with a user each, ``--contacts``
contacts among the callers (numbers drawn from a pool ten times larger), ``--rows`` ``cdr_in``
rows in DIDWW's 2026-04-16 columns (10 % missed, 1 % repeated rows, 1,000 calls the softphone had
already logged), gzipped as DIDWW serves them. The export record's import runs as the cron runs it
(``didww.cdr.export._didww_import_file``: parse, then chunks of 1,000 calls, one commit each),
then once more on the same file (a period imported again); ``--profile`` writes a profile of the
first import to /tmp/didww_cdr_profile.txt. Printed: rows/s and SQL queries per row
of each, calls created, notes and activities; the download itself is not timed (a few MB).
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_outbound
import didww as runner

SCRIPT = """
import datetime, gzip, json, random, time, sys
sys.path.insert(0, {tests!r})
from fake_didww_api import CDR_IN_COLUMNS_2026_04_16, cdr_in_row, csv_gz
registry = odoo.modules.registry.Registry(config['db_name'])
rng = random.Random(7)
with registry.cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {{}})
    company = env.company
    company.write({{"country_id": env.ref("base.us").id, "didww_api_key": "bench", "didww_cdr_import": True}})
    users = [env["res.users"].create({{"name": f"Bench {{i}}", "login": f"bench{{i}}@example.com"}}) for i in range(2)]
    dids = ["19179056077", "19179056078"]
    for did, user in zip(dids, users):
        env["didww.sms.number"].create({{"number": "+" + did, "user_ids": [(6, 0, user.ids)]}})
    pool = [f"1212{{700 + i // 10000}}{{i % 10000:04d}}" for i in range({contacts!r} * 10)]
    env["res.partner"].create([{{"name": f"Caller {{i}}", "mobile": "+" + pool[i]}} for i in range({contacts!r})])
    now = datetime.datetime.utcnow().replace(microsecond=0)
    start = now - datetime.timedelta(days=20)
    rows = []
    for index in range({rows!r}):
        when = start + datetime.timedelta(seconds=index * 15)
        rows.append(cdr_in_row(when, rng.choice(pool), dids[index % 2], answered=rng.random() > 0.1,
                               duration=rng.randint(5, 600), call_id=f"bench-{{index}}"))
    rows += rows[:: 100]  # repeated rows
    softphone = rows[5000:6000]
    env["didww.call"].create([{{
        "direction": "incoming", "number": "+" + row["Source"], "user_id": users[0].id, "state": "done",
        "start": datetime.datetime.strptime(row["Date/Time Start (UTC)"], "%Y-%m-%d %H:%M:%S")
                 - datetime.timedelta(seconds=2)}} for row in softphone])
    data = csv_gz(CDR_IN_COLUMNS_2026_04_16, rows)
    cr.commit()
    figures = {{"rows": len(rows), "bytes": len(data)}}
    Export = env["didww.cdr.export"].with_context(didww_cdr_commit=True)
    for label in ("first", "again"):
        export = Export.create({{"company_id": company.id, "export_type": "cdr_in", "date_from": start,
                                "date_to": now, "didww_export_id": label}})
        cr.commit()
        messages = env["mail.message"].search_count([])
        activities = env["mail.activity"].search_count([])
        queries = cr.sql_log_count
        began = time.perf_counter()
        if {profile!r} and label == "first":
            import cProfile, pstats, io
            profiler = cProfile.Profile()
            profiler.runcall(export._didww_import_file, data)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
            open("/tmp/didww_cdr_profile.txt", "w").write(out.getvalue())
        else:
            export._didww_import_file(data)
        env.flush_all()
        cr.commit()
        seconds = time.perf_counter() - began
        figures[label] = {{"seconds": seconds, "queries": cr.sql_log_count - queries,
                          "created": export.rows_created, "matched": export.rows_matched,
                          "known": export.rows_known, "skipped": export.rows_skipped,
                          "notes": env["mail.message"].search_count([]) - messages,
                          "activities": env["mail.activity"].search_count([]) - activities}}
    print("BENCH " + json.dumps(figures))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="print a profile of the first import")
    parser.add_argument("--odoo-path", dest="odoo_path")
    parser.add_argument("--odoo-source")
    options = parser.parse_args()
    if not os.environ.get("_DIDWW_ODOO_TREE"):
        runner.WORK.mkdir(exist_ok=True)
    with bench_outbound.throwaway_database(options, "cdr_bench") as (env, config_args):
        figures = bench_outbound.odoo_figures(env, config_args, SCRIPT, rows=options.rows, contacts=options.contacts,
                                              tests=str(runner.ROOT / "tests"), profile=options.profile)
    rows = figures["rows"]
    print(f"\nDIDWW call records: {rows:,} cdr_in rows ({figures['bytes'] / 1e6:.1f} MB gzipped), "
          f"{options.contacts:,} callers are contacts")
    print(f"{'run':<6} {'seconds':>8} {'rows/s':>8} {'queries/row':>11} {'created':>8} {'softphone':>9} "
          f"{'known':>7} {'notes':>7} {'activities':>10}")
    for label in ("first", "again"):
        run = figures[label]
        print(f"{label:<6} {run['seconds']:>8.1f} {rows / run['seconds']:>8.0f} {run['queries'] / rows:>11.2f} "
              f"{run['created']:>8,} {run['matched']:>9,} {run['known']:>7,} {run['notes']:>7,} "
              f"{run['activities']:>10,}")


if __name__ == "__main__":
    main()
