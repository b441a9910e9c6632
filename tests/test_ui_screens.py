import base64
import json

from odoo.tests import Form, new_test_user, tagged

from .common import DidwwHttpCase


@tagged("post_install", "-at_install", "didww_connector", "-standard", "didww_connector_browser")
class TestScreens(DidwwHttpCase):
    """What the screens say, checked on the records behind them; the tours walk the same screens
    in a browser."""

    def composer_on(self, record, user, **context):
        return Form(self.env["sms.composer"].with_user(user).with_context(
            default_res_model=record._name, default_res_id=record.id, default_composition_mode="comment",
            **context))

    # the composer names the sender: which number, whose, why

    def test_the_composer_says_when_the_sms_leaves_from_your_number(self):
        text = self.composer_on(self.partner, self.user_sales).didww_source_info
        self.assertEqual(text, "+37041123456: your number.")

    def test_a_user_without_number_is_told_it_is_the_company_number_and_who_gets_replies(self):
        self.number_lt.name = "Sales LT"
        text = self.composer_on(self.partner, self.user_other).didww_source_info
        self.assertEqual(text, "+19179056077: the company's number, because no DIDWW number is assigned to you. "
                               "Replies go to Sally Sales.")
        self.assertNotIn("))", text)

    def test_the_composer_names_the_number_this_customer_is_texting_with(self):
        self.env["didww.sms.session"]._get_or_create(self.number_us, "+37041654321")  # the customer texted it
        text = self.composer_on(self.partner, self.user_sales).didww_source_info
        self.assertEqual(text, "+19179056077: the number this customer is texting with.")

    def test_the_mass_composer_also_says_the_per_recipient_rules(self):
        composer = Form(self.env["sms.composer"].with_user(self.user_other).with_context(
            default_res_model="res.partner", default_res_ids=(self.partner | self.partner_us).ids,
            default_composition_mode="mass"))
        self.assertIn("the company's number", composer.didww_source_info)
        self.assertIn("Recipients in a live conversation", composer.didww_source_info)
        self.assertEqual(composer.didww_recipients_info, "2 of the 2 selected will be texted.")

    def test_the_composer_of_a_company_without_didww_says_nothing_about_it(self):
        self.company.didww_sms_active = False
        composer = self.composer_on(self.partner, self.user_sales)
        self.assertFalse(composer.didww_source_info)
        self.assertFalse(composer.didww_active, "the SMS counter keeps its IAP pricing link")

    # webhook events in words

    def test_webhook_events_read_as_sentences_with_a_readable_payload(self):
        text = "Hello from a stranger"
        self.post_json({"to": "37041123456", "from": "37069111222", "time": "Mon, 23 Nov 2026 07:30:00 GMT",
                        "text": text, "data": base64.b64encode(text.encode()).decode(), "uuid": "screens-1"})
        inbound = self.env["didww.webhook.event"].search([("dedupe_key", "=", "inbound:uuid:screens-1")])
        self.assertEqual(inbound.result_display, "SMS from +370 691 11222 posted on Contact +37069111222")
        self.assertEqual(json.loads(inbound.payload_display)["from"], "37069111222")
        self.assertIn('\n  "from": "37069111222"', inbound.payload_display, "one field a line")

        message = self.partner.with_user(self.user_sales)._message_sms("Status please")
        tracker = message.sudo().notification_ids.sms_tracker_ids
        self.post_json(self.status_callback(tracker.didww_message_id, "Success"))
        status = self.env["didww.webhook.event"].search([("kind", "=", "status")], limit=1)
        self.assertEqual(status.result_display, "Handed to the carrier: the SMS to +370 41 654321")

    def test_the_webhook_event_form_asks_a_code_editor_mode_odoo_18_has(self):
        arch = self.env["didww.webhook.event"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("'mode': 'js'", arch)
        self.assertIn("'mode': 'javascript'", arch)
        self.assertIn('statusbar_visible="pending,done"', arch)

    # small things a first-time admin trips on

    def test_a_new_number_starts_with_the_company_country(self):
        number = Form(self.env["didww.sms.number"])
        self.assertEqual(number.country_id, self.us)
        number.number = "917 905 6099"
        self.assertEqual(number.save().number, "+19179056099")

    def test_an_international_number_keeps_its_own_country_over_the_default(self):
        number = self.env["didww.sms.number"].create({"number": "+370 41 765432"})
        self.assertEqual(number.country_id, self.lt)

    def test_a_contact_created_for_an_unknown_sender_gets_the_country_of_the_number(self):
        self.post_json({"to": "37041123456", "from": "37069111333", "time": "Mon, 23 Nov 2026 07:30:00 GMT",
                        "text": "Hi"})
        partner = self.env["res.partner"].search([("phone_sanitized", "=", "+37069111333")])
        self.assertEqual(partner.country_id, self.lt)

    def test_the_only_voip_provider_is_preselected_for_new_users(self):
        providers = self.env["didww.voip.provider"].search([])
        self.assertEqual(len(providers), 1, "the DIDWW provider created on install")
        user = self.env["res.users"].create({"name": "New Nora", "login": "didww_nora"})
        self.assertEqual(user.didww_voip_provider_id, providers)
        self.assertEqual(self.env.ref("base.user_admin").didww_voip_provider_id, providers,
                         "users who existed on install get it too")
        self.env["didww.voip.provider"].create({"name": "Second"})
        other = self.env["res.users"].create({"name": "Other Olga", "login": "didww_olga"})
        self.assertFalse(other.didww_voip_provider_id, "with two providers, the user chooses")

    # tours

    def test_tour_a_salesperson_texts_a_follow_up_to_several_leads(self):
        self.env["crm.lead"].create([
            {"name": f"Tour lead {letter}", "contact_name": name, "phone": phone, "type": "opportunity",
             "user_id": self.user_sales.id}
            for letter, name, phone in [("A", "Ona", "+37041654321"), ("B", "Jonas", "+37061234567"),
                                        ("C", "Blocked", "+37069876543")]])
        self.env["phone.blacklist"].sudo().add("+37069876543")
        self.start_tour("/odoo/action-crm.crm_lead_action_pipeline?view_type=list", "didww_lead_follow_up_tour",
                        login="didww_sales")

    def test_tour_a_failed_follow_up_is_red_on_the_lead_and_resent_from_there(self):
        leads = self.env["crm.lead"].create([
            {"name": f"Tour lead {name}", "contact_name": name, "phone": phone, "type": "opportunity",
             "user_id": self.user_sales.id}
            for name, phone in [("Ona", "+37041654321"), ("Jonas", "+37061234567")]])
        (self.number_us | self.number_lt).action_archive()
        self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="crm.lead", default_res_ids=leads.ids, default_composition_mode="mass",
            default_mass_keep_log=True,
            default_template_id=self.env.ref("didww_connector.sms_template_lead_follow_up").id,
        ).create({}).action_send_sms()
        self.env["sms.sms"]._process_queue()
        self.assertFalse(self.outbound_requests())
        (self.number_us | self.number_lt).action_unarchive()
        self.start_tour(f"/odoo/action-crm.crm_lead_action_pipeline/{leads[0].id}", "didww_lead_sms_failure_tour",
                        login="didww_sales")
        (request,) = self.outbound_requests()
        self.assertEqual(request["json"]["data"]["attributes"]["destination"], "37041654321")
        notification = leads[0].message_ids.notification_ids.filtered(lambda n: n.notification_type == "sms")
        self.assertEqual(notification.notification_status, "pending", "shown Sent, no longer red")

    def test_tour_a_retrying_sms_says_on_its_message_why_and_when(self):
        lead = self.env["crm.lead"].create({"name": "Retry lead", "contact_name": "Ona", "phone": "+37041654321",
                                            "type": "opportunity", "user_id": self.user_sales.id})
        self.fake.script("/outbound_messages", status=503, body={"errors": [
            {"title": "Service Unavailable", "detail": "maintenance", "status": "503"}]})
        message = lead.with_user(self.user_sales)._message_sms("Are you there?")
        notification = message.sudo().notification_ids
        self.assertEqual(notification.notification_status, "ready", "still queued, not failed")
        self.assertEqual(notification.failure_reason, "DIDWW is temporarily unavailable")
        self.start_tour(f"/odoo/action-crm.crm_lead_action_pipeline/{lead.id}", "didww_sms_retrying_tour",
                        login="didww_sales")

    def test_tour_a_user_without_number_sees_whose_number_the_sms_leaves_from(self):
        lead = self.env["crm.lead"].create({"name": "Tour lead", "contact_name": "Ona", "phone": "+37041654321",
                                            "type": "opportunity", "user_id": self.user_other.id})
        self.start_tour(f"/odoo/action-crm.crm_lead_action_pipeline/{lead.id}", "didww_composer_sender_tour",
                        login="didww_other")

    def test_tour_an_admin_reads_webhook_events(self):
        text = "Hello from a stranger"
        self.post_json({"to": "37041123456", "from": "37069111222", "time": "Mon, 23 Nov 2026 07:30:00 GMT",
                        "text": text, "data": base64.b64encode(text.encode()).decode()})
        message = self.partner.with_user(self.user_sales)._message_sms("Status please")
        self.post_json(self.status_callback(message.sudo().notification_ids.sms_tracker_ids.didww_message_id))
        # a text to a number not added yet, its text only in base64 (as DIDWW's template has it)
        self.post_json({"to": "37037200003", "from": "37069111333", "time": "Mon, 23 Nov 2026 07:31:00 GMT",
                        "data": base64.b64encode(b"Labas, ar dar turite?").decode()})
        self.start_tour("/odoo/action-didww_connector.didww_webhook_event_action", "didww_webhook_events_tour",
                        login="admin")

    def _conversations(self):
        """Three conversations of a salesperson with Odoo's default "Handle by Emails" preference."""
        emma = new_test_user(self.env, login="didww_emma", name="Emma Email", groups="base.group_user,"
                             "sales_team.group_sale_salesman", company_id=self.company.id, notification_type="email")
        self.number_lt.user_ids |= emma
        self.env["crm.lead"].create({"name": "Spring offer", "contact_name": "Jonas Stop", "phone": "+37061000009",
                                     "user_id": emma.id})
        bike = self.env["crm.lead"].create({"name": "Blue bike", "contact_name": "Petras Bike", "phone": "+37061000008",
                                            "user_id": emma.id})
        bike.with_user(emma)._message_sms("Your bike is ready")
        for sender, text in (("37061000009", "STOP"), ("37041654321", "Is the blue bike still available?")):
            self.post_json({"to": "37041123456", "from": sender, "time": "Mon, 23 Nov 2026 07:31:00 GMT", "text": text})
        return emma

    def test_tour_a_salesperson_reads_sms_conversations_and_opens_one(self):
        emma = self._conversations()
        self.start_tour("/odoo/action-didww_connector.didww_sms_conversation_action", "didww_sms_conversations_tour",
                        login=emma.login)

    def test_tour_an_admin_has_the_same_conversations_list_from_settings(self):
        self._conversations()
        self.start_tour("/odoo/settings", "didww_sms_conversations_admin_tour", login="admin")

    def test_tour_settings_show_didww_boxes_only_once_it_is_on(self):
        self.company.didww_sms_active = False
        self.start_tour("/odoo/settings#integration", "didww_settings_visibility_tour", login="admin")

    def test_tour_a_first_number_takes_the_company_country(self):
        self.env.ref("base.user_admin").company_id.country_id = self.us
        self.start_tour("/odoo/action-didww_connector.didww_sms_number_action", "didww_number_country_tour",
                        login="admin")
        self.assertTrue(self.env["didww.sms.number"].search([("number", "=", "+19179056099")]))

    def test_a_salesperson_can_use_the_composer_with_the_follow_up_template(self):
        # the follow-up template renders for a salesperson who cannot read other users' numbers
        lead = self.env["crm.lead"].create({"name": "Deal", "contact_name": "Ona", "phone": "+37041654321",
                                            "user_id": self.user_sales.id})
        action = self.env.ref("didww_connector.action_server_lead_sms_follow_up").with_user(self.user_sales)
        result = action.with_context(active_model="crm.lead", active_ids=lead.ids, active_id=lead.id).run()
        composer = Form(self.env["sms.composer"].with_user(self.user_sales).with_context(**result["context"]))
        self.assertIn("Hello Ona", composer.body)
        self.assertEqual(composer.didww_source_info, "+37041123456: your number.")
