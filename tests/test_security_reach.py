"""What another user and a holder of the webhook URL can reach (security issue: each item's test).

Relational fields are swept generically: as an ordinary salesperson who may export, every
relational field of the addon's conversation, call and webhook event models is read through
``read``, ``web_read`` with a related spec, ``read_group`` and ``export_data``; each answer must be
a refusal or name only records the salesperson may read.
"""

import json
import logging
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import config, mute_logger

from ..models import didww_webhook_inbox
from .common import DidwwHttpCase, b64

SWEPT_MODELS = ("didww.sms.session", "didww.call", "didww.webhook.event")


@tagged("post_install", "-at_install", "didww_connector")
class TestRelationalReach(DidwwHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # "own documents only": Sally's rights; Otto owns the lead the customer's texts land on
        cls.lead = cls.env["crm.lead"].create({
            "name": "Secret deal", "user_id": cls.user_other.id, "phone": "+37041654999"})
        cls.user_sales.groups_id |= cls.env.ref("base.group_allow_export")
        cls.number_shared = cls.env["didww.sms.number"].create({"number": "+37052000001", "all_users": True})
        cls.other_company = cls.env["res.company"].create({"name": "Other Co"})
        cls.foreign_partner = cls.env["res.partner"].create({
            "name": "Foreign Fiona", "phone": "+37041654888", "company_id": cls.other_company.id})

    def unreadable(self, model, ids):
        records = self.env[model].browse(ids).exists()
        return records - records.with_user(self.user_sales)._filtered_access("read")

    def assert_reaches_only_readable(self, model, records):
        """Every relational field of ``model``, asked every way, refuses or names readable targets."""
        Model = self.env[model].with_user(self.user_sales)
        for name, field in self.env[model]._fields.items():
            if field.type not in ("many2one", "one2many", "many2many", "many2one_reference"):
                continue
            comodel = field.comodel_name if field.type != "many2one_reference" else None
            questions = {
                "read": lambda name=name: Model.browse(records.ids).read([name]),
                "web_read": lambda name=name, field=field: Model.browse(records.ids).web_read(
                    {name: {"fields": {"display_name": {}}} if field.type != "many2one_reference" else {}}),
                "read_group": lambda name=name: Model.read_group([("id", "in", records.ids)], [name], [name]),
                "export": lambda name=name: Model.browse(records.ids).export_data([f"{name}/.id"])["datas"],
            }
            for how, question in questions.items():
                with self.subTest(model=model, field=name, how=how):
                    try:
                        with self.env.cr.savepoint(), mute_logger("odoo.models", "odoo.access"):
                            answer = question()
                    except (AccessError, UserError, ValueError):
                        continue  # refused: nothing learnt
                    if comodel is None:
                        continue  # a bare id: the document's name is only shown through readable computes
                    ids = set()
                    for row in answer:
                        value = row.get(name) if isinstance(row, dict) else row[0]
                        if isinstance(value, (list, tuple)) and value and isinstance(value[0], int):
                            ids.update([value[0]] if field.type == "many2one" else value)
                        elif isinstance(value, dict) and value.get("id"):
                            ids.add(value["id"])
                        elif isinstance(value, int) and not isinstance(value, bool):
                            ids.add(value)
                        elif isinstance(value, str) and value.isdigit():
                            ids.add(int(value))
                        elif isinstance(value, str) and "," in value:  # export of x2many ids
                            ids.update(int(part) for part in value.split(",") if part.strip().isdigit())
                    self.assertFalse(self.unreadable(comodel, list(ids)),
                                     f"{how} of {model}.{name} names records the user may not read")

    def test_conversation_on_a_lead_the_salesperson_cannot_open(self):
        self.assertFalse(self.lead.with_user(self.user_sales).has_access("read"))
        session = self.env["didww.sms.session"].sudo()._get_or_create(self.number_shared, "+37041654999")
        message = self.lead.message_post(body="Please keep our discount quiet", message_type="comment")
        session.write({"res_model": "crm.lead", "res_id": self.lead.id, "last_message_date": fields.Datetime.now()})
        session._didww_note_inbound(message, "Please keep our discount quiet")
        visible = self.env["didww.sms.session"].with_user(self.user_sales).search([("id", "=", session.id)])
        self.assertEqual(visible, session, "an 'all users' number's conversation is visible to every user")
        # the field that named the lead and exported the text is not readable by her at all
        with self.assertRaises(AccessError):
            visible.read(["last_inbound_message_id"])
        with self.assertRaises(AccessError):
            visible.export_data(["last_inbound_message_id/body"])
        line = visible.read(["customer_name", "document_name", "last_message_preview", "remote_display"])[0]
        self.assertEqual((line["customer_name"], line["document_name"], line["last_message_preview"]),
                         (False, False, False), "neither the lead, its customer nor the text")
        self.assertIn("41654999", line["remote_display"].replace(" ", ""), "only the number that texted")
        self.assert_reaches_only_readable("didww.sms.session", session)

    def test_unread_filter_still_works_for_the_reader(self):
        self.lead.user_id = self.user_sales
        session = self.env["didww.sms.session"].sudo()._get_or_create(self.number_shared, "+37041654999")
        message = self.lead.message_post(body="Hi Sally", message_type="comment",
                                         partner_ids=self.user_sales.partner_id.ids)
        session.write({"res_model": "crm.lead", "res_id": self.lead.id})
        session._didww_note_inbound(message, "Hi Sally")
        Session = self.env["didww.sms.session"].with_user(self.user_sales)
        self.assertEqual(Session.search([("is_unread", "=", True)]), session)
        self.assertTrue(Session.browse(session.id).is_unread)

    def test_calls_cannot_be_forged_and_name_only_readable_records(self):
        Call = self.env["didww.call"].with_user(self.user_sales)
        with self.assertRaises(AccessError):
            Call.create({"direction": "incoming", "number": "+37041654888", "partner_id": self.foreign_partner.id})
        # calling from a lead she may not open neither names it nor links it
        answer = Call.didww_outgoing("+37041654999", "crm.lead", self.lead.id)
        self.assertFalse(answer["name"])
        call = Call.browse(answer["id"])
        self.assertEqual((call.res_model, call.res_id, call.partner_id), (False, 0, self.env["res.partner"]))
        with self.assertRaises(AccessError):
            call.write({"user_id": self.user_other.id})
        with self.assertRaises(AccessError):
            call.write({"partner_id": self.foreign_partner.id})
        # a colleague's call: neither seen nor closed
        other_call = self.env["didww.call"].with_user(self.user_other).browse(
            self.env["didww.call"].with_user(self.user_other).didww_incoming("+37041654321")["id"])
        with self.assertRaises(AccessError):
            Call.browse(other_call.id).didww_ended("done")
        self.assertEqual(other_call.state, "ringing")
        # her own calls she closes as before
        call.didww_answered()
        call.didww_ended("done")
        self.assertEqual(call.state, "done")
        answer = Call.didww_incoming("+37041654321")
        incoming = Call.browse(answer["id"])
        self.assertEqual(incoming.partner_id, self.partner, answer)
        self.assert_reaches_only_readable("didww.call", call | incoming)

    def test_webhook_events_are_out_of_reach(self):
        self.post_json({"to": "37041123456", "from": "37041654321", "text": "hi", "data": b64("hi")})
        events = self.env["didww.webhook.event"].search([])
        self.assertTrue(events)
        with self.assertRaises(AccessError):
            events.with_user(self.user_sales).read(["company_id"])
        self.assert_reaches_only_readable("didww.webhook.event", events)


@tagged("post_install", "-at_install", "didww_connector")
class TestVoipProviderReach(DidwwHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Other VoIP Co"})
        cls.foreign_provider = cls.env["didww.voip.provider"].create({
            "name": "Other's PBX", "ws_server": "wss://pbx.other.example:7443", "pbx_server": "pbx.other.example",
            "company_id": cls.other_company.id})
        cls.portal = new_test_user(cls.env, login="didww_portal", groups="base.group_portal")

    def test_a_user_cannot_pick_another_companys_provider(self):
        me = self.user_sales.with_user(self.user_sales)
        with self.assertRaises(AccessError):
            me.write({"didww_voip_provider_id": self.foreign_provider.id})
        # even set behind her back, the softphone never hands out its servers
        self.user_sales.sudo().didww_voip_provider_id = self.foreign_provider
        self.user_sales.sudo().didww_voip_username = "sally"
        self.authenticate("didww_sales", "didww_sales")
        config = self.make_jsonrpc_request("/didww/voip/config", {})
        self.assertFalse(config["websocket_url"] or config["pbx_server"] or config["provider"])

    def test_portal_users_have_no_voip_fields(self):
        portal = self.portal.with_user(self.portal)
        for vals in ({"didww_voip_username": "p1"}, {"didww_voip_secret": "s3cret"}):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                portal.write(vals)
        self.assertFalse(self.env["didww.voip.credential"].search([("user_id", "=", self.portal.id)]))
        self.authenticate("didww_portal", "didww_portal")
        config = self.make_jsonrpc_request("/didww/voip/config", {})
        self.assertFalse(any(config.values()))


@tagged("post_install", "-at_install", "didww_connector")
class TestNumberReassignment(DidwwHttpCase):

    def test_a_number_taken_away_ends_its_old_users_conversations(self):
        number = self.env["didww.sms.number"].create({
            "number": "+37052333333", "user_ids": [(6, 0, self.user_sales.ids)], "session_stickiness": 60,
            "sequence": 0})
        # Sally (only this number in Lithuania first) texts Ona, then the number goes to Otto
        self.partner.with_user(self.user_sales)._message_sms("Hello from Sally")
        session = self.env["didww.sms.session"].search([("number_id", "=", number.id)])
        self.assertEqual(session.user_id, self.user_sales)
        number.user_ids = self.user_other
        self.assertFalse(session.user_id, "reassigning the number ends Sally's hold at once")
        # Sally's next text leaves from one of her own numbers, and does not take the conversation back
        self.fake.reset()
        self.partner.with_user(self.user_sales)._message_sms("Still me")
        sources = [json.loads(r["body"])["data"]["attributes"]["source"] for r in self.outbound_requests()]
        self.assertNotIn("37052333333", sources)
        self.assertFalse(session.user_id)
        # Ona's reply to the number reaches Otto, not Sally
        response = self.post_json({"to": "37052333333", "from": "37041654321", "text": "Reply",
                                   "data": b64("Reply")})
        self.assertEqual(response.status_code, 200, response.text)
        message = self.partner.message_ids.filtered(lambda m: "Reply" in (m.body or ""))[:1]
        self.assertIn(self.user_other.partner_id, message.notified_partner_ids)
        self.assertNotIn(self.user_sales.partner_id, message.notified_partner_ids)


@tagged("post_install", "-at_install", "didww_connector")
class TestWebhookBounds(DidwwHttpCase):

    def inbound(self, sender="37041654321", to="37041123456", text="Hello", **extra):
        return {"to": to, "from": sender, "time": "Mon, 23 Nov 2026 07:30:00 GMT", "text": text,
                "data": b64(text), **extra}

    def events(self):
        return self.env["didww.webhook.event"].search([("company_id", "=", self.company.id)])

    def test_a_sender_without_digits_is_refused_at_the_door(self):
        for sender in ("...", "---", "( )", "+1"):
            with self.subTest(sender=sender):
                response = self.post_json(self.inbound(sender=sender))
                self.assertEqual(response.status_code, 400, response.text)
                self.assertIn("'from' is not a phone number", response.json()["error"])
        self.assertFalse(self.events())

    def test_only_what_processing_needs_is_stored(self):
        response = self.post_json(self.inbound(junk="x" * 200_000, nested={"a": "b" * 1000}, uuid="u-1"))
        self.assertEqual(response.status_code, 200, response.text)
        event = self.events()
        payload = json.loads(event.payload)
        self.assertEqual(set(payload), {"to", "from", "time", "text", "uuid"})
        self.assertEqual(payload["text"], "Hello")
        self.assertEqual(event.state, "done")
        status = self.status_callback("msg-1", "Success")
        status["data"]["attributes"]["padding"] = "p" * 100_000
        self.post_json(status, process=False)
        stored = json.loads(self.events().filtered(lambda e: e.kind == "status").payload)
        self.assertNotIn("padding", stored["data"]["attributes"])
        self.assertEqual(stored["data"]["attributes"]["status"], "Success")

    def test_over_the_delivery_limit_answers_429_and_tells_the_admins_once(self):
        self.company.didww_webhook_max_events = 3
        admin = new_test_user(self.env, login="didww_limit_admin", groups="base.group_user,base.group_system",
                              company_id=self.company.id)
        for index in range(3):
            self.assertEqual(self.post_json(self.inbound(text=f"t{index}"), process=False).status_code, 200)
        answers = [self.post_json(self.inbound(text=f"over {index}"), process=False) for index in range(3)]
        self.assertEqual({answer.status_code for answer in answers}, {429})
        self.assertEqual(answers[0].headers.get("Retry-After"), "60")
        self.assertIn("more than 3 deliveries in a minute", answers[0].json()["error"])
        self.assertEqual(len(self.events()), 3, "refused deliveries are not stored")
        notes = self.company.partner_id.message_ids.filtered(lambda m: "refused deliveries" in (m.body or ""))
        self.assertEqual(len(notes), 1, "the administrators are told once")
        self.assertIn(admin.partner_id, notes.partner_ids)
        # a minute later DIDWW's retry is accepted
        with freeze_time(fields.Datetime.now() + timedelta(minutes=2)):
            self.assertEqual(self.post_json(self.inbound(text="over 0"), process=False).status_code, 200)

    def test_new_senders_are_limited_apart_from_known_ones(self):
        self.company.didww_webhook_max_new_senders = 3
        self.post_json(self.inbound(sender="37041654321", text="known"))  # new, then Ona has a conversation
        for index in range(2):
            self.assertEqual(self.post_json(self.inbound(sender=f"3706000000{index}"), process=False).status_code,
                             200)
        refused = self.post_json(self.inbound(sender="37060000009"), process=False)
        self.assertEqual(refused.status_code, 429, refused.text)
        self.assertIn("new senders", refused.json()["error"])
        self.assertEqual(self.post_json(self.inbound(sender="37041654321", text="again")).status_code, 200)
        contacts = self.env["res.partner"].search_count([("phone", "like", "+3706000000")])
        self.assertEqual(contacts, 2)

    def test_unknown_numbers_are_kept_as_a_few_examples_then_cleaned_up(self):
        with patch.object(didww_webhook_inbox, "UNKNOWN_PER_HOUR", 2):
            answers = [self.post_json(self.inbound(to="3705999999" + str(index)), process=False)
                       for index in range(4)]
        self.assertEqual([answer.status_code for answer in answers], [404] * 4)
        self.assertEqual(len(self.events()), 2)
        self.assertIn("not stored", answers[3].json()["error"])
        Event = self.env["didww.webhook.event"]
        later = fields.Datetime.now() + timedelta(days=didww_webhook_inbox.UNKNOWN_KEEP_DAYS + 1)
        with freeze_time(later):
            Event._gc_processed_events()
        self.assertFalse(self.events())

    def test_events_that_can_never_be_processed_are_cleaned_up(self):
        self.post_json(self.status_callback("never-sent", "Success"), process=False)
        event = self.events()
        event.write({"state": "error", "attempts": didww_webhook_inbox.MAX_ATTEMPTS})
        with freeze_time(fields.Datetime.now() + timedelta(days=didww_webhook_inbox.KEEP_DAYS + 1)):
            self.env["didww.webhook.event"]._gc_processed_events()
        self.assertFalse(event.exists())

    def test_the_secret_and_the_sms_stay_out_of_the_access_log(self):
        secret = self.company.didww_webhook_secret
        query = "?to=37041123456&from=37041654321&text=Top%20secret%20offer&time=x"
        with self.assertLogs("werkzeug", logging.INFO) as logs:
            response = self.url_open(self.webhook_url() + query, timeout=30)
            self.url_open(f"/didww/webhook/{self.company.id}/wrong-secret-1234", timeout=30)
        self.assertEqual(response.status_code, 200, response.text)
        text = "\n".join(logs.output)
        self.assertIn(f"/didww/webhook/{self.company.id}/[redacted]?[redacted]", text)
        for leaked in (secret, "wrong-secret-1234", "Top", "37041654321"):
            self.assertNotIn(leaked, text)

    def test_the_settings_say_what_the_allow_list_compares(self):
        company = self.company
        with patch.dict(config.options, {"proxy_mode": True}):
            company.invalidate_recordset(["didww_webhook_ip_check"])
            self.assertIn("X-Forwarded-For", company.didww_webhook_ip_check)
        with patch.dict(config.options, {"proxy_mode": False}):
            company.invalidate_recordset(["didww_webhook_ip_check"])
            self.assertIn("--proxy-mode", company.didww_webhook_ip_check)
