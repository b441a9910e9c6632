"""Reading DIDWW's call-record files (tools/didww_cdr.py) and checking callback signatures
(tools/didww_callback_signature.py): plain Python, no database."""

import datetime
import gzip

from odoo.tests import tagged
from odoo.tests.common import BaseCase

from ..tools.didww_callback_signature import is_valid, normalise_url, signature
from ..tools.didww_cdr import CdrFormatError, parse_time, read_records
from .fake_didww_api import (
    CDR_IN_COLUMNS_2026_04_16,
    CDR_IN_COLUMNS_2026_11_19,
    CDR_OUT_COLUMNS,
    cdr_in_row,
    cdr_out_row,
    csv_gz,
)

START = datetime.datetime(2026, 11, 20, 9, 30, 0)


@tagged("post_install", "-at_install", "didww_connector")
class TestDidwwCdrParse(BaseCase):

    def test_cdr_in_of_2026_04_16_uses_call_id_and_duration(self):
        rows = [cdr_in_row(START, "37041654321", "19179056077", duration=42, call_id="abc"),
                cdr_in_row(START, "37041654321", "19179056077", answered=False, call_id="def")]
        records, skipped = read_records(csv_gz(CDR_IN_COLUMNS_2026_04_16, rows), "cdr_in")
        self.assertEqual(skipped, 0)
        self.assertEqual([r["cdr_id"] for r in records], ["cdr_in:abc", "cdr_in:def"])
        answered, missed = records
        self.assertEqual((answered["direction"], answered["remote"], answered["did"], answered["duration"]),
                         ("incoming", "37041654321", "19179056077", 42))
        self.assertEqual(answered["answered_at"], START + datetime.timedelta(seconds=3))
        self.assertEqual(answered["disposition"], "Success (200)")
        self.assertIsNone(missed["answered_at"])
        self.assertEqual(missed["disposition"], "Failed (480 Temporarily Unavailable)")

    def test_cdr_in_of_2026_11_19_has_ten_columns_duration_from_times(self):
        rows = [cdr_in_row(START, "12125550142", "19179056077", duration=95)]
        records, _skipped = read_records(csv_gz(CDR_IN_COLUMNS_2026_11_19, rows), "cdr_in")
        self.assertEqual(records[0]["duration"], 95)
        self.assertTrue(records[0]["cdr_id"].startswith("cdr_in:"))
        self.assertEqual(records[0]["disposition"], "Success")

    def test_cdr_out(self):
        rows = [cdr_out_row(START, "19179056077", "12125550142", duration=61),
                cdr_out_row(START, "19179056077", "37041654321", answered=False)]
        records, _skipped = read_records(csv_gz(CDR_OUT_COLUMNS, rows), "cdr_out")
        self.assertEqual([(r["direction"], r["did"], r["remote"], r["duration"]) for r in records],
                         [("outgoing", "19179056077", "12125550142", 61),
                          ("outgoing", "19179056077", "37041654321", 0)])
        self.assertEqual(records[1]["disposition"], "Failed (486 Busy Here)")

    def test_duplicates_give_one_record_the_answered_attempt_first(self):
        missed = cdr_in_row(START, "37041654321", "19179056077", answered=False, call_id="same")
        answered = cdr_in_row(START, "37041654321", "19179056077", call_id="same")
        records, _skipped = read_records(csv_gz(CDR_IN_COLUMNS_2026_04_16, [missed, answered, missed]), "cdr_in")
        self.assertEqual(len(records), 1)
        self.assertTrue(records[0]["answered_at"])

    def test_unreadable_rows_are_skipped_and_counted(self):
        good = cdr_in_row(START, "37041654321", "19179056077", call_id="ok")
        no_number = dict(cdr_in_row(START, "", "19179056077"), Source="")
        bad_time = dict(cdr_in_row(START, "37041654321", "19179056077"), **{"Date/Time Start (UTC)": "yesterday"})
        bad_duration = dict(cdr_in_row(START, "37041654321", "19179056077"), **{"Duration (sec)": "forty"})
        negative = dict(cdr_in_row(START, "37041654321", "19179056077"), **{"Duration (sec)": "-5"})
        data = csv_gz(CDR_IN_COLUMNS_2026_04_16, [good, no_number, bad_time, bad_duration, negative],
                      broken=["too,few", "", '"never closed'])
        records, skipped = read_records(data, "cdr_in")
        self.assertEqual([r["cdr_id"] for r in records], ["cdr_in:ok"])
        self.assertEqual(skipped, 6)

    def test_whole_file_problems_are_format_errors(self):
        with self.assertRaisesRegex(CdrFormatError, "not a readable gzip"):
            read_records(b"\x1f\x8b broken", "cdr_in")
        with self.assertRaisesRegex(CdrFormatError, "no column for: start time, caller or called number"):
            read_records(gzip.compress(b"a,b\n1,2\n"), "cdr_in")
        with self.assertRaisesRegex(CdrFormatError, "unknown export type"):
            read_records(b"", "sms_in")
        self.assertEqual(read_records(gzip.compress(b""), "cdr_in"), ([], 0))

    def test_a_file_already_decompressed_is_read(self):
        data = gzip.decompress(csv_gz(CDR_OUT_COLUMNS, [cdr_out_row(START, "19179056077", "12125550142")]))
        self.assertEqual(len(read_records(data, "cdr_out")[0]), 1)

    def test_times(self):
        self.assertEqual(parse_time("2026-11-20 09:30:00"), START)
        self.assertEqual(parse_time("2026-11-20T09:30:00.123Z"), START)
        self.assertIsNone(parse_time(""))
        self.assertIsNone(parse_time("2026-13-45 99:99:99"))

    def test_signature_matches_the_documented_vector(self):
        payload = {"id": "11111111-2222-3333-4444-555555555555", "type": "exports", "status": "completed"}
        url = "https://odoo.example.test/didww/callback"
        self.assertEqual(normalise_url(url), "https://odoo.example.test:443/didww/callback")
        self.assertEqual(signature("cbsecret-fake-xyz", url, payload), "d19bdb82528435d6f41281c892e87ae8199a391a")
        self.assertTrue(is_valid("cbsecret-fake-xyz", url, payload, "D19BDB82528435D6F41281C892E87AE8199A391A"))
        self.assertFalse(is_valid("another", url, payload, "d19bdb82528435d6f41281c892e87ae8199a391a"))
        self.assertFalse(is_valid("cbsecret-fake-xyz", url, dict(payload, status="pending"),
                                  "d19bdb82528435d6f41281c892e87ae8199a391a"))
        self.assertFalse(is_valid("", url, payload, ""))
        self.assertEqual(normalise_url("http://[::1]/x?a=1"), "http://[::1]:80/x?a=1")
