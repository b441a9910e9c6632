import base64

from odoo.tests import tagged

from .common import DidwwHttpCase


@tagged("post_install", "-at_install", "didww_connector")
class TestPhoneMatching(DidwwHttpCase):
    """DIDWW's digits meet what Odoo stored (``phone_sanitized``), both formatted by phone_validation."""

    def inbound(self, text, sender, to="19179056077"):
        payload = {"to": to, "from": sender, "text": text, "data": base64.b64encode(text.encode()).decode()}
        response = self.post_json(payload)
        self.assertEqual(response.status_code, 200, response.text)

    def test_the_one_formatter(self):
        Number = self.env["didww.sms.number"]
        cases = [
            ("9179056077", self.us, "+19179056077"),  # national
            ("(917) 905-6077", self.us, "+19179056077"),
            ("37041654321", self.us, "+37041654321"),  # DIDWW's digits of another country
            ("0037041654321", self.us, "+37041654321"),  # 00 where the country dials 011
            ("8 612 34567", self.lt, "+37061234567"),  # LT national trunk prefix 8
            ("06 12 34 56 78", self.env.ref("base.fr"), "+33612345678"),
            ("garbage", self.us, None),
        ]
        for raw, country, expected in cases:
            with self.subTest(raw=raw):
                self.assertEqual(Number._didww_e164(raw, country), expected)
                if expected:
                    partner = self.env["res.partner"].create({"name": raw, "phone": raw, "country_id": country.id})
                    self.assertEqual(partner.phone_sanitized, expected, "the same as Odoo stores")

    def test_inbound_sms_find_contacts_however_their_number_was_typed(self):
        fr, de = self.env.ref("base.fr"), self.env.ref("base.de")
        Partner = self.env["res.partner"]
        contacts = {
            "national (company's country)": (Partner.create({"name": "Nat", "mobile": "(646) 555-0199"}),
                                             "16465550199"),
            "with spaces": (Partner.create({"name": "Spaces", "phone": "+370 612 34 568"}), "37061234568"),
            "with 00": (Partner.create({"name": "Zeros", "phone": "00 370 612 34 569"}), "37061234569"),
            "national, another country": (Partner.create({"name": "Marie", "phone": "06 12 34 56 78",
                                                           "country_id": fr.id}), "33612345678"),
            "national mobile, another country": (Partner.create({"name": "Jonas", "mobile": "0151 23456789",
                                                                  "country_id": de.id}), "4915123456789"),
        }
        for label, (partner, sender) in contacts.items():
            with self.subTest(label):
                self.assertEqual(partner.phone_sanitized, "+" + sender)
                self.inbound(f"hello {label}", sender=sender)
                self.assertIn(f"hello {label}", partner.message_ids[0].body)
        self.assertFalse(Partner.search([("name", "=like", "+%"), ("id", ">", min(
            p.id for p, _s in contacts.values()))]), "no contact created for a number typed differently")

    def test_the_other_number_of_a_contact_is_found_too(self):
        # phone_sanitized holds the mobile; the landline was typed nationally
        partner = self.env["res.partner"].create({"name": "Two numbers", "mobile": "+370 699 11111",
                                                  "phone": "(212) 555-0177", "country_id": self.us.id})
        self.assertEqual(partner.phone_sanitized, "+37069911111")
        self.inbound("from the landline", sender="12125550177")
        self.assertIn("from the landline", partner.message_ids[0].body)
        # same last digits, another number: not that contact
        self.inbound("a stranger", sender="13125550177")
        self.assertNotIn("a stranger", " ".join(partner.message_ids.mapped("body")))

    def test_opt_out_blacklists_the_number_odoo_stored(self):
        marie = self.env["res.partner"].create({"name": "Marie", "phone": "06 12 34 56 70",
                                                "country_id": self.env.ref("base.fr").id})
        self.inbound("STOP", sender="33612345670")
        self.assertTrue(marie.phone_sanitized_blacklisted)
