"""Calls from DIDWW's records: exports asked for, awaited (polling or signed callback), imported
(models/didww_cdr_export.py) against the fake DIDWW's exports API on 127.0.0.1."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..models.didww_cdr_export import retention_start
from ..tools.didww_api_client import TOKENS
from .common import DidwwHttpCase
from .fake_didww_api import cdr_in_row, cdr_out_row, sign_callback


@tagged("post_install", "-at_install", "didww_connector")
class TestCdrImport(DidwwHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"didww_api_key": cls.fake.api_key, "didww_api_environment": "sandbox",
                           "didww_api_version": "2026-11-19", "didww_cdr_import": True})
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("didww_connector.api_url.sandbox", cls.fake.url + "/v3")
        params.set_param("didww_connector.token_url.sandbox", cls.fake.url + "/token")
        params.set_param("didww_connector.cdr_poll_seconds", "10")
        cls.partner_lead_only = cls.env["crm.lead"].create({"name": "Lead Lou", "phone": "+1 212 555 0177"})

    def setUp(self):
        super().setUp()
        TOKENS.clear()
        self.fake.account_version = "2026-11-19"
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", self.base_url())
        self.now = fields.Datetime.now().replace(microsecond=0)
        t = self.now - timedelta(minutes=50)
        self.t = t
        # the softphone logged this one (and DIDWW's start is 2 s later)
        self.softphone_call = self.env["didww.call"].create({
            "direction": "incoming", "number": "+12125550142", "partner_id": self.partner_us.id,
            "res_model": "res.partner", "res_id": self.partner_us.id, "user_id": self.user_sales.id,
            "start": t, "answered_at": t + timedelta(seconds=4), "duration": 30, "state": "done"})
        self.fake.cdrs["cdr_in"] = [
            cdr_in_row(t + timedelta(seconds=2), "12125550142", "19179056077", duration=30),  # the softphone's
            cdr_in_row(t + timedelta(minutes=5), "12125550142", "19179056077", duration=95),  # answered elsewhere
            cdr_in_row(t + timedelta(minutes=5), "12125550142", "19179056077", duration=95),  # the same row again
            cdr_in_row(t + timedelta(minutes=9), "37041654321", "37041123456", answered=False),  # missed
            cdr_in_row(t + timedelta(minutes=12), "33612345678", "19179056077", duration=10),  # nobody we know
            cdr_in_row(t + timedelta(minutes=14), "12125550177", "19179056077", answered=False),  # an open lead
        ]
        self.fake.cdrs["cdr_out"] = [
            cdr_out_row(t + timedelta(minutes=20), "19179056077", "12125550142", duration=61),
            cdr_out_row(t + timedelta(minutes=22), "19179056077", "37041654321", answered=False),
        ]
        self.fake.broken_rows["cdr_in"] = ["only,three,fields", '2026-13-45 99:99:99,"unterminated']

    def run_import(self):
        return self.env["didww.cdr.export"]._cron_import()

    def didww_calls(self):
        return self.env["didww.call"].search([("source", "=", "didww"), ("company_id", "=", self.company.id)],
                                             order="start")

    def notes(self, record):
        return record.message_ids.filtered(lambda m: "call records" in (m.body or ""))

    def test_first_import_logs_calls_the_softphone_did_not_see(self):
        self.run_import()
        exports = self.env["didww.cdr.export"].search([("company_id", "=", self.company.id)])
        self.assertEqual(sorted(exports.mapped("export_type")), ["cdr_in", "cdr_out"])
        self.assertEqual(set(exports.mapped("state")), {"done"})
        created = [r for r in self.fake.requests if r["path"] == "/v3/exports" and r["method"] == "POST"]
        filters = created[0]["json"]["data"]["attributes"]["filters"]
        self.assertEqual(filters["from"], retention_start(self.now).strftime("%Y-%m-%d %H:%M:%S"),
                         "first run: as far back as DIDWW keeps calls")
        self.assertNotIn("callback_url", created[0]["json"]["data"]["attributes"], "no secret: polling")
        self.assertTrue(all("Api-Key" not in r["headers"] for r in self.fake.requests if r["path"] != "/token"))

        calls = self.didww_calls()
        self.assertEqual(len(calls), 6, "5 inbound (one twice in the file, one the softphone's) + 2 outbound - 1")
        answered = calls[0]
        self.assertEqual((answered.direction, answered.number, answered.partner_id, answered.user_id,
                          answered.state, answered.duration, answered.didww_number),
                         ("incoming", "+12125550142", self.partner_us, self.user_sales, "done", 95, "+19179056077"))
        self.assertEqual(answered.start, self.t + timedelta(minutes=5))
        self.assertEqual(answered.didww_disposition, "Success")
        missed = calls[1]
        self.assertEqual((missed.number, missed.partner_id, missed.state), ("+37041654321", self.partner, "missed"))
        stranger = calls[2]
        self.assertEqual((stranger.partner_id.id, stranger.res_id, stranger.state), (False, 0, "done"))
        lead_call = calls[3]
        self.assertEqual((lead_call.res_model, lead_call.res_id), ("crm.lead", self.partner_lead_only.id))
        outgoing = calls.filtered(lambda c: c.direction == "outgoing")
        self.assertEqual(outgoing.mapped("state"), ["done", "failed"])
        self.assertEqual(outgoing[1].failure_reason, "Failed (486 Busy Here)")
        self.assertEqual(outgoing[0].duration, 61)

        # the softphone's call was recognised, not logged twice
        self.assertEqual(self.softphone_call.didww_cdr_id[:7], "cdr_in:")
        self.assertEqual(self.env["didww.call"].search_count([("number", "=", "+12125550142"),
                                                              ("start", "<", self.t + timedelta(minutes=1))]), 1)
        cdr_in = exports.filtered(lambda e: e.export_type == "cdr_in")
        self.assertEqual((cdr_in.rows_created, cdr_in.rows_matched, cdr_in.rows_skipped), (4, 1, 2))

        # one short note per call on the customer; a call back for the missed one
        self.assertEqual(len(self.notes(self.partner_us)), 2)
        self.assertIn("Incoming call from +12125550142 answered by Sally Sales, 01:35 (from DIDWW",
                      " ".join(self.notes(self.partner_us).mapped("body")))
        self.assertEqual(len(self.notes(self.partner)), 2)
        activities = self.partner.activity_ids
        self.assertEqual(len(activities), 1)
        self.assertEqual((activities.summary, activities.user_id), ("Call back", self.user_sales))
        self.assertEqual(len(self.partner_lead_only.activity_ids), 1, "missed call of a lead: call back there")
        self.assertEqual(self.company.didww_cdr_imported_until, self.now - timedelta(minutes=5))
        self.assertIn("Imported up to", self.company.didww_cdr_last_message)

    def test_importing_again_changes_nothing(self):
        self.run_import()
        before = (self.env["didww.call"].search_count([]), self.env["mail.message"].search_count([]),
                  self.env["mail.activity"].search_count([]))
        self.company.didww_cdr_imported_until = self.now - timedelta(minutes=30)  # the next period overlaps
        self.run_import()
        self.company.didww_cdr_imported_until = False  # and the whole period once more
        self.run_import()
        after = (self.env["didww.call"].search_count([]), self.env["mail.message"].search_count([]),
                 self.env["mail.activity"].search_count([]))
        self.assertEqual(after, before)
        known = self.env["didww.cdr.export"].search([("export_type", "=", "cdr_in")], limit=1)
        self.assertEqual((known.rows_created, known.rows_known), (0, 5))

    def test_signed_callback_wakes_the_import(self):
        self.company.didww_callback_secret = self.fake.callback_secret
        self.env["ir.config_parameter"].sudo().set_param("didww_connector.cdr_poll_seconds", "0")
        self.fake.exports_hold = True
        self.run_import()
        exports = self.env["didww.cdr.export"].search([("company_id", "=", self.company.id)])
        self.assertEqual(set(exports.mapped("state")), {"waiting"})
        self.assertIn("Import in progress: asked DIDWW for the calls from", self.company.didww_cdr_last_message)
        created = [r for r in self.fake.requests if r["path"] == "/v3/exports" and r["method"] == "POST"]
        self.assertEqual(created[0]["json"]["data"]["attributes"]["callback_url"],
                         f"{self.base_url()}/didww/cdr_export_done/{self.company.id}")
        self.fake.complete_exports()
        self.assertEqual(len(self.fake.callbacks), 2)
        url, payload, headers = self.fake.callbacks[0]
        # a wrong signature, a missing one, a signed callback without id, an unknown export
        self.assertEqual(self.opener.post(url, data=payload, headers={"X-DIDWW-Signature": "0" * 40}).status_code,
                         403)
        self.assertEqual(self.opener.post(url, data=payload).status_code, 403)
        for body, status in (({"type": "exports", "status": "completed"}, 400),
                             ({"id": "nope", "type": "exports", "status": "completed"}, 404)):
            response = self.opener.post(url, data=body,
                                        headers={"X-DIDWW-Signature": sign_callback(self.fake.callback_secret, url,
                                                                                    body)})
            self.assertEqual(response.status_code, status, body)
            self.assertIn("error", response.json())
        for url, payload, headers in self.fake.callbacks:
            response = self.opener.post(url, data=payload, headers=headers)
            self.assertEqual(response.status_code, 200, response.text)
        exports.invalidate_recordset()
        self.assertTrue(all(exports.mapped("callback_received")))
        self.run_import()
        self.assertEqual(set(exports.mapped("state")), {"done"})
        self.assertEqual(len(self.didww_calls()), 6)

    def test_an_expired_export_is_asked_again(self):
        self.fake.script("/v3/exports/", status=404, body={"errors": [{"detail": "Not Found"}]})
        self.run_import()
        exports = self.env["didww.cdr.export"].search([("company_id", "=", self.company.id)], order="id")
        self.assertEqual(sorted(exports.mapped("state")), ["done", "done", "retried"])
        retried = exports.filtered(lambda e: e.state == "retried")
        self.assertIn("no longer knows this export", retried.message)
        self.assertEqual(exports.filtered(lambda e: e.export_type == retried.export_type
                                          and e.state == "done").attempt, 2)
        self.assertEqual(len(self.didww_calls()), 6)

    def test_an_export_that_never_completes_is_asked_again(self):
        self.env["ir.config_parameter"].sudo().set_param("didww_connector.cdr_poll_seconds", "0")
        self.fake.exports_hold = True
        self.run_import()
        exports = self.env["didww.cdr.export"].search([("company_id", "=", self.company.id)])
        self.assertEqual(set(exports.mapped("state")), {"waiting"})
        self.assertIn("Import in progress", self.company.didww_cdr_last_message)
        self.env.flush_all()
        self.env.cr.execute("UPDATE didww_cdr_export SET create_date = %s WHERE id IN %s",
                            [self.now - timedelta(hours=7), tuple(exports.ids)])
        exports.invalidate_recordset()
        self.run_import()  # still processing, and for too long: asked again
        self.assertEqual(set(exports.mapped("state")), {"retried"})
        self.assertIn("did not complete the export within 6 hours", exports[0].message)
        self.fake.exports_hold = False
        self.env["ir.config_parameter"].sudo().set_param("didww_connector.cdr_poll_seconds", "10")
        self.run_import()
        self.assertEqual(len(self.didww_calls()), 6)
        self.assertEqual(self.company.didww_cdr_imported_until, self.now - timedelta(minutes=5))

    def test_an_unreadable_file_fails_with_a_reason_and_the_period_is_kept(self):
        self.fake.file_override["cdr_out"] = b"not,a,call,record\n1,2,3,4\n"
        self.run_import()
        failed = self.env["didww.cdr.export"].search([("state", "=", "failed")])
        self.assertEqual(len(failed), 1)
        self.assertIn("no column for: start time", failed.message)
        self.assertFalse(self.company.didww_cdr_imported_until, "the period is asked again next time")
        self.assertIn("could not export", self.company.didww_cdr_last_message)

    def test_import_now_button_and_token_errors(self):
        action = self.env["res.config.settings"].create({}).action_didww_import_calls()
        self.assertIn("First import", action["params"]["message"])
        self.assertEqual(len(self.didww_calls()), 6)
        self.company.didww_api_key = "WRONG"
        TOKENS.clear()
        self.run_import()  # the cron does not stop at a refused key: it says so
        self.assertIn("token service refused the API key", self.company.didww_cdr_last_message)

    def test_call_back_is_scheduled_once_per_user_and_contact(self):
        calls = self.env["didww.call"].create([{
            "direction": "incoming", "number": "+37041654321", "partner_id": self.partner.id,
            "user_id": self.user_sales.id, "start": self.t, "state": "missed"} for _ in range(2)])
        calls._didww_schedule_call_back()
        calls._didww_schedule_call_back()
        self.assertEqual(len(self.partner.activity_ids), 1)
        self.assertEqual(self.partner.activity_ids.activity_type_id, self.env.ref("mail.mail_activity_data_call"))

    def test_interval_setting_moves_the_cron(self):
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.didww_cdr_interval, 1)
        settings.didww_cdr_interval = 3
        settings.execute()
        cron = self.env.ref("didww_connector.ir_cron_didww_cdr_import")
        self.assertEqual((cron.interval_number, cron.interval_type), (3, "hours"))
        with self.assertRaisesRegex(Exception, "1 or more"):
            self.env["res.config.settings"].create({"didww_cdr_interval": 0}).execute()
