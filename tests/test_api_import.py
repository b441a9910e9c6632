from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import DidwwCase


@tagged("post_install", "-at_install", "didww_connector")
class TestApiImport(DidwwCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"didww_api_key": cls.fake.api_key, "didww_api_environment": "sandbox",
                           "didww_api_version": "2026-04-16"})
        cls.env["ir.config_parameter"].sudo().set_param("didww_connector.api_url.sandbox", cls.fake.url + "/v3")

    def setUp(self):
        super().setUp()
        self.fake.dids = [
            {"id": f"did-{i}", "number": f"1212555{i:04d}", "description": f"Line {i}",
             "features": ["voice_in", "sms_in", "p2p"] if i % 3 else ["voice_in"]} for i in range(130)]
        self.fake.dids.append({"id": "did-us", "number": "19179056077", "description": "Main",
                               "features": ["sms_in"]})

    def import_numbers(self):
        return self.env["res.config.settings"].create({}).action_didww_import_numbers()

    def test_environment_urls(self):
        self.env["ir.config_parameter"].sudo().set_param("didww_connector.api_url.sandbox", False)
        self.assertEqual(self.company._didww_api_base_url(), "https://sandbox-api.didww.com/v3")
        self.company.didww_api_environment = "production"
        self.assertEqual(self.company._didww_api_base_url(), "https://api.didww.com/v3")

    def test_import_creates_textable_numbers_once(self):
        action = self.import_numbers()
        self.assertIn("86 created, 1 updated, 44 of 131 DIDs cannot text", action["params"]["message"])
        numbers = self.env["didww.sms.number"].search([("company_id", "=", self.company.id)])
        self.assertEqual(len(numbers), 88)
        self.assertEqual(self.number_us.didww_did_id, "did-us", "the existing number was updated, not duplicated")
        imported = numbers.filtered(lambda n: n.didww_did_id == "did-1")
        self.assertEqual((imported.number, imported.country_id, imported.name), ("+12125550001", self.us, "Line 1"))
        requests = [r for r in self.fake.requests if r["path"] == "/v3/dids"]
        self.assertEqual(len(requests), 2, "every page")
        self.assertEqual(requests[0]["headers"]["X-DIDWW-API-Version"], "2026-04-16")
        # again: nothing new
        action = self.import_numbers()
        self.assertIn("0 created, 87 updated", action["params"]["message"])

    def test_wrong_key_is_a_clear_error(self):
        self.company.didww_api_key = "wrong"
        with self.assertRaisesRegex(UserError, "refused the API key .*allowed IP addresses"):
            self.import_numbers()

    def test_network_error_imports_nothing(self):
        self.fake.script("/v3/dids", status=503, body={"errors": [{"detail": "maintenance"}]}, skip=1)
        before = self.env["didww.sms.number"].search_count([])
        with self.assertRaisesRegex(UserError, "maintenance"):
            self.import_numbers()
        self.assertEqual(self.env["didww.sms.number"].search_count([]), before, "page 1 was not half-imported")
        self.fake.script("/v3/dids", drop=True, skip=1)
        with self.assertRaisesRegex(UserError, "could not be reached"):
            self.import_numbers()
        self.assertEqual(self.env["didww.sms.number"].search_count([]), before)

    def test_429_is_retried(self):
        self.fake.script("/v3/dids", status=429, body={"errors": [{"detail": "Too Many Requests"}]},
                         headers={"Retry-After": "0"})
        self.import_numbers()
        self.assertEqual(self.env["didww.sms.number"].search_count([("didww_did_id", "=", "did-1")]), 1)

    def test_balance(self):
        action = self.env["res.config.settings"].create({}).action_didww_check_balance()
        self.assertIn("12.50", action["params"]["message"])
        self.assertIn("12.50", self.company.didww_balance)
