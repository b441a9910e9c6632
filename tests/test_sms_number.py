from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import DidwwCase


@tagged("post_install", "-at_install", "didww_connector")
class TestSmsNumber(DidwwCase):

    def test_country_and_national_number_are_stored_in_e164(self):
        self.assertEqual(self.number_us.number, "+19179056077")
        self.assertEqual(self.number_lt.number, "+37041123456")
        self.assertEqual(self.number_lt.country_id, self.lt, "country derived from an international number")
        france = self.env.ref("base.fr")
        number = self.env["didww.sms.number"].create({"number": "06 12 34 56 78", "country_id": france.id})
        self.assertEqual(number.number, "+33612345678")
        number.write({"number": "07 56 78 90 12"})
        self.assertEqual(number.number, "+33756789012")

    def test_invalid_number_is_refused_with_a_clear_message(self):
        with self.assertRaisesRegex(ValidationError, "not a valid phone number for United States"):
            self.env["didww.sms.number"].create({"number": "12", "country_id": self.us.id})

    def test_duplicates_are_refused_whatever_the_format(self):
        with self.assertRaisesRegex(ValidationError, r"\+19179056077 is already registered"), \
                mute_logger("odoo.sql_db"):
            self.env["didww.sms.number"].create({"number": "+1 917-905-6077"})
        self.number_us.action_archive()
        with self.assertRaisesRegex(ValidationError, "archived"):
            self.env["didww.sms.number"].create({"number": "19179056077", "country_id": self.us.id})

    def test_same_number_in_another_company_is_allowed(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        number = self.env["didww.sms.number"].create({"number": "+19179056077", "company_id": other.id})
        self.assertEqual(number.company_id, other)

    def test_all_users_assignment(self):
        self.assertEqual(self.number_us._assigned_users(), self.user_sales)
        self.number_us.all_users = True
        self.assertIn(self.user_other, self.number_us._assigned_users())
        portal = new_test_user(self.env, login="didww_portal", groups="base.group_portal")
        self.assertNotIn(portal, self.number_us._assigned_users())

    def test_users_see_only_numbers_of_their_companies_and_cannot_edit(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        hidden = self.env["didww.sms.number"].create({"number": "+37052000001", "company_id": other.id})
        Number = self.env["didww.sms.number"].with_user(self.user_sales)
        visible = Number.search([])
        self.assertIn(self.number_us, visible)
        self.assertNotIn(hidden, visible)
        with self.assertRaises(AccessError):
            self.number_us.with_user(self.user_sales).write({"session_stickiness": 5})
        with self.assertRaises(AccessError):
            Number.create({"number": "+37052000002"})

    def test_one_conversation_per_number_and_customer(self):
        Session = self.env["didww.sms.session"]
        first = Session._get_or_create(self.number_us, "+12125550142")
        self.assertEqual(Session._get_or_create(self.number_us, "+12125550142"), first)
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            Session.create({"number_id": self.number_us.id, "remote_number": "+12125550142"})

    def test_remote_number_reformatting(self):
        self.assertEqual(self.number_us._format_remote("(212) 555-0142"), "+12125550142")
        self.assertEqual(self.number_us._format_remote("37041654321"), "+37041654321")
        self.number_us.reformat_inbound = False
        self.assertEqual(self.number_us._format_remote(" 2125550142 "), "2125550142")

    def test_settings_show_the_webhook_url_and_open_numbers(self):
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.didww_webhook_url.endswith(
            f"/didww/webhook/{self.company.id}/{self.company.didww_webhook_secret}"))
        self.assertEqual(settings.didww_sms_number_count, 2)
        self.assertEqual(settings.action_didww_open_numbers()["res_model"], "didww.sms.number")
