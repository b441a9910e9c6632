"""The API version setting, "Test connection" and the token service's errors as admins see them."""

import importlib.util
from pathlib import Path

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..tools.didww_api_client import LATEST_API_VERSION, TOKENS
from .common import DidwwCase


@tagged("post_install", "-at_install", "didww_connector")
class TestApiAuthSettings(DidwwCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"didww_api_key": cls.fake.api_key, "didww_api_environment": "sandbox",
                           "didww_api_version": "2026-11-19"})
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("didww_connector.api_url.sandbox", cls.fake.url + "/v3")
        params.set_param("didww_connector.token_url.sandbox", cls.fake.url + "/token")

    def setUp(self):
        super().setUp()
        self.fake.account_version = "2026-11-19"
        TOKENS.clear()

    def connect(self):
        return self.env["res.config.settings"].create({}).action_didww_test_connection()["params"]

    def test_default_version_is_the_newest_and_the_choice_is_closed(self):
        self.assertEqual(LATEST_API_VERSION, "2026-11-19")
        company = self.env["res.company"].create({"name": "Fresh Co"})
        self.assertEqual(company.didww_api_version, "2026-11-19")
        self.assertEqual([key for key, _label in self.env["res.company"]._fields["didww_api_version"].selection],
                         ["2026-04-16", "2026-11-19"])

    def test_sandbox_and_production_have_their_own_token_service(self):
        self.env["ir.config_parameter"].sudo().set_param("didww_connector.token_url.sandbox", False)
        self.assertEqual(self.company._didww_token_url(), "https://auth-sandbox.didww.com/token")
        self.company.didww_api_environment = "production"
        self.assertEqual(self.company._didww_token_url(), "https://auth.didww.com/token")

    def test_test_connection_says_version_and_scheme(self):
        params = self.connect()
        self.assertIn("API version 2026-11-19", params["message"])
        self.assertIn("access token from 127.0.0.1 (scope full, valid 900 seconds", params["message"])
        self.assertEqual(params["type"], "success")
        self.fake.account_version = "2026-04-16"
        self.company.didww_api_version = "2026-04-16"
        params = self.connect()
        self.assertIn("API version 2026-04-16, authenticated with the API key", params["message"])

    def test_test_connection_warns_when_another_version_answered(self):
        self.company.didww_api_version = "2026-04-16"
        self.fake.account_version = "2026-04-16"
        self.fake.script("/v3/balance", status=200, body={"data": {"id": "b", "type": "balances", "attributes": {}},
                                                          "meta": {"api_version": "2025-06-01"}})
        params = self.connect()
        self.assertIn("answered with API version 2025-06-01 instead of 2026-04-16", params["message"])
        self.assertEqual(params["type"], "warning")

    def test_the_token_is_never_stored(self):
        self.connect()
        token = self.fake.minted[-1]["token"]
        self.env.flush_all()
        for table, column in (("res_company", "didww_api_key"), ("ir_config_parameter", "value")):
            self.env.cr.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", [token])
            self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.env.cr.execute("SELECT count(*) FROM ir_logging WHERE message LIKE %s", [f"%{token}%"])
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_refused_key_is_a_sentence(self):
        self.company.didww_api_key = "WRONG"
        with self.assertRaisesRegex(UserError, "token service refused the API key.*sandbox key only mints"):
            self.connect()

    def test_429_is_a_sentence_with_the_wait(self):
        self.fake.script("/token", status=429, headers={"Retry-After": "42"},
                         body={"error": "rate_limit_exceeded", "error_description": "slow down"})
        with self.assertRaisesRegex(UserError, "too many requests from this key: try again in 42 seconds"):
            self.connect()

    def test_400_is_a_sentence(self):
        self.fake.script("/token", status=400, body={"error": "invalid_scope", "error_description": "no"})
        with self.assertRaisesRegex(UserError, r"refused the request for an access token \(invalid_scope\)"):
            self.connect()

    def test_token_refused_by_the_api_is_a_sentence(self):
        self.fake.script("/v3/balance", status=401, body={"errors": [{"detail": "Unauthorized"}]}, times=2)
        with self.assertRaisesRegex(UserError, "refused the access token minted for API version 2026-11-19"):
            self.connect()
        self.assertEqual(len(self.fake.minted), 2, "minted again once on the 401")

    def test_api_key_on_a_2026_11_19_account_says_what_to_do(self):
        self.company.didww_api_version = "2026-04-16"
        with self.assertRaisesRegex(UserError, "choose that version then"):
            self.connect()

    def test_import_and_balance_work_with_tokens(self):
        self.fake.dids = [{"id": "did-x", "number": "12125550199", "description": "X", "features": ["sms_in"]}]
        action = self.env["res.config.settings"].create({}).action_didww_import_numbers()
        self.assertIn("1 created", action["params"]["message"])
        self.env["res.config.settings"].create({}).action_didww_check_balance()
        self.assertEqual(len(self.fake.minted), 1)
        self.assertTrue(all("Api-Key" not in r["headers"] for r in self.fake.requests if r["path"] != "/token"))

    def test_migration_of_free_text_versions(self):
        path = Path(__file__).resolve().parent.parent / "migrations" / "18.0.1.3.0" / "post-carrier.py"
        spec = importlib.util.spec_from_file_location("post_carrier", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        companies = self.env["res.company"].create([{"name": f"Old {i}"} for i in range(5)])
        values = [("", "KEY"), ("2021-12-15", "KEY"), ("2026-11-19", "KEY"), ("nonsense", ""), ("2027-01-01", "")]
        self.env.flush_all()
        for company, (version, key) in zip(companies, values, strict=True):
            self.env.cr.execute("UPDATE res_company SET didww_api_version = %s, didww_api_key = %s WHERE id = %s",
                                [version or None, key or None, company.id])
        module.migrate(self.env.cr, "18.0.1.2.0")
        companies.invalidate_recordset()
        self.assertEqual(companies.mapped("didww_api_version"),
                         ["2026-04-16", "2026-04-16", "2026-11-19", "2026-11-19", "2026-11-19"])
