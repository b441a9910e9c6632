from contextlib import closing
from datetime import timedelta

from freezegun import freeze_time

from odoo import fields, sql_db
from odoo.tests import tagged

from .common import DidwwCase, DidwwHttpCase, b64


@tagged("post_install", "-at_install", "didww_connector")
class TestInboundRouting(DidwwHttpCase):

    def inbound(self, text="Hi there", sender="37041654321", to="37041123456", uuid=None, **kwargs):
        payload = {"to": to, "from": sender, "time": "Mon, 23 Nov 2026 07:30:00 GMT", "text": text, "data": b64(text)}
        if uuid:
            payload["uuid"] = uuid
        return self.post_json(payload, **kwargs)

    def notified_partners(self, message):
        return message.notification_ids.filtered(lambda n: n.notification_type in ("inbox", "email")).res_partner_id

    def test_known_contact_gets_the_message_and_assigned_users_are_notified(self):
        response = self.inbound('Quote "this" 👍', uuid="u-1")
        self.assertEqual(response.status_code, 200, response.text)
        message = self.partner.message_ids[0]
        self.assertIn('Quote "this" 👍', message.body)
        self.assertEqual(message.author_id, self.partner)
        self.assertEqual(message.subtype_id, self.env.ref("mail.mt_note"))
        self.assertEqual(self.notified_partners(message), self.user_sales.partner_id)
        self.assertFalse(self.outbound_requests(), "nothing is texted back")
        self.assertFalse(self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)]))
        event = self.env["didww.webhook.event"].search([("dedupe_key", "=", "inbound:uuid:u-1")])
        self.assertEqual((event.state, event.res_model, event.res_id), ("done", "res.partner", self.partner.id))
        self.assertEqual(fields.Datetime.to_string(event.sms_time), "2026-11-23 07:30:00", "DIDWW's time, kept")

    def test_number_formats_of_to(self):
        for index, to in enumerate(("19179056077", "+19179056077", "(917) 905-6077", "1-917-905-6077")):
            with self.subTest(to=to):
                response = self.inbound(f"format {index}", to=to)
                self.assertEqual(response.status_code, 200, response.text)
                self.assertIn(f"format {index}", self.partner.message_ids[0].body)

    def test_sender_reformatting_matches_national_and_e164(self):
        self.partner_us.mobile = "+1 212-555-0142"
        response = self.inbound("from a US sender", sender="12125550142", to="19179056077")
        self.assertEqual(response.status_code, 200)
        self.assertIn("from a US sender", self.partner_us.message_ids[0].body)

    def test_open_lead_when_no_contact(self):
        lead = self.env["crm.lead"].create({"name": "Web lead", "phone": "+37061111111", "user_id": self.user_sales.id})
        self.inbound("about my lead", sender="37061111111")
        self.assertIn("about my lead", lead.message_ids[0].body)
        self.assertEqual(lead.message_ids[0].email_from, "+37061111111")

    def test_won_lead_is_not_reused(self):
        lead = self.env["crm.lead"].create({"name": "Old lead", "phone": "+37061111112"})
        lead.action_set_won()
        self.inbound("new question", sender="37061111112")
        partner = self.env["res.partner"].search([("phone", "=", "+37061111112")])
        self.assertEqual(partner.name, "+37061111112")
        self.assertIn("new question", partner.message_ids[0].body)

    def test_unknown_sender_gets_one_new_contact(self):
        self.inbound("first", sender="37069999999", uuid="n-1")
        self.inbound("second", sender="+370 699 99999", uuid="n-2")
        partners = self.env["res.partner"].search([("phone_sanitized", "=", "+37069999999")])
        self.assertEqual(len(partners), 1)
        self.assertEqual(partners.name, "+37069999999")
        self.assertEqual(len(partners.message_ids.filtered(lambda m: m.message_type == "sms")), 2)

    def test_one_batch_routes_each_text_as_alone(self):
        """Texts processed in one batch (their look-ups shared): a new sender's three texts go to
        one new contact in order, a known contact's to them, a sticky conversation's to its
        document and user; each conversation remembers its last text."""
        lead = self.env["crm.lead"].create({"name": "Deal", "phone": "+37041654999", "user_id": self.user_other.id})
        self.number_lt.user_ids |= self.user_other
        lead.with_user(self.user_other)._message_sms("Let's talk")
        for index, (sender, text) in enumerate([("37069999990", "new 1"), ("37041654321", "known"),
                                                ("37069999990", "new 2"), ("37041654999", "sticky"),
                                                ("37069999990", "new 3")]):
            self.inbound(text, sender=sender, uuid=f"b-{index}", process=False)
        events = self.process_events()
        self.assertEqual(len(events), 5)
        self.assertEqual(set(events.mapped("state")), {"done"})
        contact = self.env["res.partner"].search([("phone_sanitized", "=", "+37069999990")])
        self.assertEqual(len(contact), 1)
        received = contact.message_ids.filtered(lambda m: m.message_type == "sms").sorted("id")
        self.assertEqual([[text in m.body for text in ("new 1", "new 2", "new 3")] for m in received],
                         [[True, False, False], [False, True, False], [False, False, True]], "in order")
        self.assertEqual(self.notified_partners(received[0]), (self.user_sales | self.user_other).partner_id)
        self.assertIn("known", self.partner.message_ids[0].body)
        self.assertIn("sticky", lead.message_ids[0].body)
        self.assertEqual(self.notified_partners(lead.message_ids[0]), self.user_other.partner_id,
                         "only the sticky user")
        Session = self.env["didww.sms.session"].sudo()
        new_session = Session.search([("remote_number", "=", "+37069999990")])
        self.assertEqual((new_session.res_model, new_session.res_id), ("res.partner", contact.id))
        self.assertEqual((new_session.last_message_text, new_session.last_inbound_message_id),
                         ("new 3", received[-1]))
        self.assertTrue(new_session.last_message_inbound)
        sticky = Session.search([("remote_number", "=", "+37041654999")])
        self.assertEqual((sticky.res_model, sticky.res_id, sticky.last_message_text), ("crm.lead", lead.id, "sticky"))

    def test_sticky_session_routes_reply_to_its_user_and_thread(self):
        lead = self.env["crm.lead"].create({"name": "Deal", "phone": "+37041654321", "partner_id": self.partner.id,
                                            "user_id": self.user_other.id})
        self.number_lt.user_ids |= self.user_other
        lead.with_user(self.user_other)._message_sms("Let's talk")
        self.inbound("Sure!")
        message = lead.message_ids[0]
        self.assertIn("Sure!", message.body)
        self.assertEqual(self.notified_partners(message), self.user_other.partner_id, "only the sticky user")

    def test_expired_stickiness_notifies_every_assigned_user(self):
        self.number_lt.user_ids |= self.user_other
        self.partner.with_user(self.user_other)._message_sms("Hello")
        session = self.env["didww.sms.session"].search([("remote_number", "=", "+37041654321")])
        past = fields.Datetime.now() - timedelta(minutes=90)
        session.write({"last_outbound": past, "last_activity": past})
        self.inbound("Later reply")
        message = self.partner.message_ids[0]
        self.assertEqual(self.notified_partners(message), (self.user_sales | self.user_other).partner_id)

    def test_reply_from_the_chatter_leaves_from_the_number_texted(self):
        # the customer texts the US number; Sally also has an LT number, closer to the customer
        self.inbound("Question for the US office", to="19179056077")
        self.partner.with_user(self.user_sales)._message_sms("Answer")
        self.assertEqual(self.outbound_requests()[-1]["json"]["data"]["attributes"]["source"], "19179056077")
        session = self.env["didww.sms.session"].search([("number_id", "=", self.number_us.id)])
        self.assertEqual(session.user_id, self.user_sales, "replying makes the conversation Sally's")
        self.assertTrue(session._is_sticky())

    def test_unknown_to_is_404_kept_and_processed_when_the_number_exists(self):
        response = self.inbound("to an unknown number", to="37052222222", uuid="k-1")
        self.assertEqual(response.status_code, 404)
        self.assertIn("unknown DIDWW number", response.json()["error"])
        event = self.env["didww.webhook.event"].search([("dedupe_key", "=", "inbound:uuid:k-1")])
        self.assertEqual(event.state, "error")
        self.env["didww.sms.number"].create({"number": "+37052222222", "all_users": True})
        response = self.inbound("to an unknown number", to="37052222222", uuid="k-1")  # DIDWW retries
        self.assertEqual(response.status_code, 200)
        self.assertEqual(event.state, "done")

    def test_same_event_twice_is_posted_once(self):
        self.inbound("once", uuid="d-1")
        response = self.inbound("once", uuid="d-1")
        self.assertEqual(response.json()["status"], "duplicate")
        self.assertEqual(len(self.partner.message_ids.filtered(lambda m: "once" in (m.body or ""))), 1)
        # without uuid, the same content at the same time is the same event
        self.inbound("no uuid")
        self.inbound("no uuid")
        self.assertEqual(len(self.partner.message_ids.filtered(lambda m: "no uuid" in (m.body or ""))), 1)

    def test_raw_text_that_breaks_the_json_template_is_recovered_from_data(self):
        text = 'Is the "Solar XL" still available?\nThanks ☀️'
        body = ('{"uuid":"r-1","to":"37041123456","from":"37041654321","time":"Mon, 23 Nov 2026 08:50:00 GMT",'
                f'"text":"{text}","data":"{b64(text)}"}}').encode()
        response = self.post_json(body)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertIn('Is the "Solar XL" still available?<br>Thanks ☀️', self.partner.message_ids[0].body)

    def test_get_with_query_parameters(self):
        url = self.webhook_url() + "?to=37041123456&from=37041654321&text=via+GET&uuid=g-1"
        response = self.opener.get(self.base_url() + url, timeout=30)
        self.assertEqual(response.status_code, 200, response.text)
        self.process_events()
        self.assertIn("via GET", self.partner.message_ids[0].body)

    def test_form_and_multipart_bodies_and_put(self):
        base = {"to": "37041123456", "from": "37041654321"}
        response = self.opener.post(self.base_url() + self.webhook_url(), data=dict(base, text="form body"),
                                    timeout=30)
        self.assertEqual(response.status_code, 200, response.text)
        response = self.opener.put(self.base_url() + self.webhook_url(),
                                   files={k: (None, v) for k, v in dict(base, data=b64("multipart é")).items()},
                                   timeout=30)
        self.assertEqual(response.status_code, 200, response.text)
        self.process_events()
        bodies = " ".join(self.partner.message_ids.mapped("body"))
        self.assertIn("form body", bodies)
        self.assertIn("multipart é", bodies)

    def test_hostile_text_is_escaped(self):
        self.inbound("<img src=x onerror=alert(1)><script>alert(2)</script>")
        body = self.partner.message_ids[0].body
        self.assertNotIn("<script", body)
        self.assertNotIn("<img", body)
        self.assertIn("&lt;script&gt;", body)

    def test_missing_fields_and_bad_numbers_are_400(self):
        for payload in ({"to": "37041123456"}, {"from": "37041654321", "text": "x"},
                        {"to": "37041123456", "from": "DROP TABLE", "text": "x"}):
            with self.subTest(payload=payload):
                response = self.post_json(payload)
                self.assertEqual(response.status_code, 400, response.text)


@tagged("post_install", "-at_install", "didww_connector")
class TestInboundConcurrency(DidwwCase):

    def test_a_delivery_from_a_sender_being_processed_elsewhere_waits_and_creates_one_contact(self):
        Event = self.env["didww.webhook.event"]
        params = {"to": "37041123456", "from": "37068888888", "text": "hello", "uuid": "c-1"}
        event = Event._store(self.company, params).event
        key = self.env["didww.sms.inbound"]._sender_lock_key(self.company, "+37068888888")
        # another worker (a real second connection) is processing a delivery from the same sender
        with closing(sql_db.db_connect(self.env.cr.dbname).cursor()) as other:
            other.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            Event._cron_process_pending()
            self.assertEqual((event.state, event.result),
                             ("pending", "another text from this sender was being processed"))
            self.assertFalse(self.env["res.partner"].search([("phone", "=", "+37068888888")]))
            self.assertLessEqual(event.next_attempt, fields.Datetime.now() + timedelta(seconds=5),
                                 "tried again a few seconds later")
            other.rollback()
        with freeze_time(fields.Datetime.now() + timedelta(seconds=6)):
            Event._cron_process_pending()
        self.assertEqual(event.state, "done")
        self.assertEqual(len(self.env["res.partner"].search([("phone", "=", "+37068888888")])), 1)
