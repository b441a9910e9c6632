"""No user learns anything about a secret that is not theirs, through any way the ORM or the web
client touches a field.

Each test sets a secret to one value, asks every question an ordinary internal user can ask, sets
the secret to another value, asks again, and requires the very same answers: a question whose
answer depends on the secret (a domain, an ``order``, a group, an aggregate...) leaks it one bit at
a time, even if it never shows the secret itself. The questions include every stored relational
path to users and companies from every model, one and two hops away, so that a model added by
another addon is swept too.
"""

from odoo.exceptions import AccessError
from odoo.models import BaseModel
from odoo.tests import TransactionCase, new_test_user, tagged

SECRET_A, SECRET_Z = "aaaa-secret-1234", "zzzz-secret-9876"
COMPANY_SECRET_FIELDS = ("didww_sms_username", "didww_sms_password", "didww_api_key", "didww_webhook_secret",
                         "didww_webhook_url", "didww_webhook_allowed_ips")


def _plain(value):
    """Answers reduced to comparable data (records by model and ids)."""
    if isinstance(value, BaseModel):
        return (value._name, tuple(value.ids))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


@tagged("post_install", "-at_install", "didww_connector")
class SecretSweepCase(TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.owner = new_test_user(cls.env, login="didww_secret_owner", groups="base.group_user")
        # an ordinary salesperson who may export: as much reach as a non-admin usually has
        cls.other = new_test_user(cls.env, login="didww_secret_other",
                                  groups="base.group_user,base.group_allow_export,sales_team.group_sale_salesman")
        # the asker has a secret of their own between the two tried, so that sorting both users by
        # secret would tell which side of it the owner's secret lies
        cls.other.didww_voip_secret = "mmmm-secret-5555"
        cls.env["crm.lead"].create({"name": "Lead of the owner", "user_id": cls.owner.id,
                                    "partner_id": cls.owner.partner_id.id})
        cls.owner.partner_id.message_post(body="a message authored on the owner's partner")

    def _answer(self, question):
        try:
            with self.env.cr.savepoint():
                return ("answered", _plain(question()))
        except Exception as exc:  # noqa: BLE001 - a refusal must not depend on the secret either
            return ("refused", type(exc).__name__, str(exc))

    def _answers(self, set_secret, questions):
        answers = {}
        for secret in (SECRET_A, SECRET_Z):
            set_secret(secret)
            self.env.flush_all()
            self.env.invalidate_all()
            answers[secret] = {name: self._answer(question) for name, question in questions}
        return answers

    def _assert_same_answers(self, set_secret, questions):
        answers = self._answers(set_secret, questions)
        for name, _question in questions:
            with self.subTest(question=name):
                self.assertEqual(answers[SECRET_A][name], answers[SECRET_Z][name],
                                 "the answer depends on another user's secret")
                self.assertNotIn(SECRET_A, repr(answers[SECRET_A][name]))

    def _models_readable_by_other(self):
        Access = self.env["ir.model.access"].with_user(self.other)
        for name, model_class in self.env.registry.items():
            if not model_class._abstract and Access.check(name, "read", raise_exception=False):
                yield self.env[name].with_user(self.other)

    def _path_questions(self, target_model, field_name, hops):
        """Domains on ``<path>.<field_name>`` from every model the other user reads, for every stored
        relational field reaching ``target_model`` directly or through ``hops`` (model, path) pairs."""
        questions = []
        for Model in self._models_readable_by_other():
            for fname, field in Model._fields.items():
                if field.type not in ("many2one", "one2many", "many2many") or not field._description_searchable:
                    continue
                paths = [f"{fname}.{field_name}"] if field.comodel_name == target_model else []
                paths += [f"{fname}.{hop}.{field_name}" for hop_model, hop in hops if field.comodel_name == hop_model]
                for path in paths:
                    for operator, value in (("=like", "a%"), ("=", SECRET_A)):
                        questions.append((f"{Model._name} {path} {operator} {value}",
                                          lambda Model=Model, path=path, operator=operator, value=value:
                                          Model.search([(path, operator, value)], limit=5)))
        return questions


class TestVoipSecretIsUnreachable(SecretSweepCase):

    def _set_owner_secret(self, secret):
        self.owner.didww_voip_secret = secret  # as the superuser, the way an administrator sets it

    def test_the_owner_and_administrators_read_the_secret_and_nobody_else(self):
        self._set_owner_secret(SECRET_A)
        self.assertEqual(self.owner.with_user(self.owner).didww_voip_secret, SECRET_A)
        self.assertEqual(self.owner.with_user(self.env.ref("base.user_admin")).didww_voip_secret, SECRET_A)
        self.assertFalse(self.owner.with_user(self.other).didww_voip_secret)
        self.assertFalse(self.owner.with_user(self.other).sudo().didww_voip_secret,
                         "another user's code running in sudo still gets no secret")
        with self.assertRaises(AccessError):
            self.env["didww.voip.credential"].with_user(self.other).search([])
        with self.assertRaises(AccessError):
            self.env["didww.voip.credential"].with_user(self.owner).search([])

    def test_no_direct_question_on_users_depends_on_another_users_secret(self):
        Users = self.env["res.users"].with_user(self.other)
        owner = self.owner.with_user(self.other)
        both = [self.owner.id, self.other.id]
        field = "didww_voip_secret"
        questions = [
            ("read", lambda: owner.read([field])),
            ("search_read", lambda: Users.search_read([("id", "=", self.owner.id)], [field])),
            ("web_read", lambda: owner.web_read({field: {}})),
            ("web_search_read", lambda: Users.web_search_read([("id", "in", both)], {field: {}})),
            ("read_group by the field", lambda: Users.read_group([("id", "in", both)], [field], [field])),
            ("read_group max", lambda: Users.read_group([("id", "in", both)], [f"{field}:max"], [])),
            ("read_group array_agg", lambda: Users.read_group([("id", "in", both)], [f"{field}:array_agg"], [])),
            ("read_group count_distinct",
             lambda: Users.read_group([("id", "in", both)], [f"{field}:count_distinct"], [])),
            ("web_read_group", lambda: Users.web_read_group([("id", "in", both)], [field], [field])),
            ("_read_group aggregate", lambda: Users._read_group([("id", "in", both)], [], [f"{field}:max"])),
            ("order ascending", lambda: Users.search([("id", "in", both)], order=field)),
            ("order descending", lambda: Users.search([("id", "in", both)], order=f"{field} desc, id")),
            ("export_data", lambda: owner.export_data([field])),
            ("copy_data", owner.copy_data),
            ("onchange", lambda: owner.onchange({"name": "x"}, ["name"], {"name": {}, field: {}})),
            ("name_search", lambda: Users.name_search("aaaa")),
            ("search_count", lambda: Users.search_count([(field, "=like", "a%")])),
        ]
        for operator, value in (("=", SECRET_A), ("=like", "a%"), ("ilike", "aaaa"), ("!=", False),
                                ("in", [SECRET_A]), (">", "m")):
            questions.append((f"search {operator} {value}",
                              lambda operator=operator, value=value: Users.search([(field, operator, value)])))
        self._assert_same_answers(self._set_owner_secret, questions)

    def test_no_question_through_another_model_depends_on_another_users_secret(self):
        field = "didww_voip_secret"
        Partner = self.env["res.partner"].with_user(self.other)
        Lead = self.env["crm.lead"].with_user(self.other)
        partner_spec = {"user_ids": {"fields": {field: {}}}}
        questions = [
            ("partner web_search_read with a related spec",
             lambda: Partner.web_search_read([("id", "=", self.owner.partner_id.id)], partner_spec)),
            ("partner web_read with a related spec", lambda: Partner.browse(self.owner.partner_id.id).web_read(
                partner_spec)),
            ("partner export of user_ids/secret", lambda: Partner.browse(self.owner.partner_id.id).export_data(
                [f"user_ids/{field}"])),
            ("lead web_search_read with a related spec",
             lambda: Lead.web_search_read([("user_id", "=", self.owner.id)], {"user_id": {"fields": {field: {}}}})),
            ("lead order on a path", lambda: Lead.search([], order=f"user_id.{field}")),
            ("lead read_group on a path", lambda: Lead.read_group([], ["id:count"], [f"user_id.{field}"])),
            ("chatter messages of the owner's partner", lambda: self.env["mail.message"].with_user(
                self.other).search_read([("res_id", "=", self.owner.partner_id.id),
                                         ("model", "=", "res.partner")], ["body", "tracking_value_ids"])),
        ]
        hops = [("res.partner", "user_ids"), ("res.company", "user_ids"), ("mail.followers", "partner_id.user_ids")]
        path_questions = self._path_questions("res.users", field, hops)
        self.assertGreater(len(path_questions), 200, "every path from every readable model is asked")
        self._assert_same_answers(self._set_owner_secret, questions + path_questions)

    def test_setting_a_secret_leaves_no_trace_in_the_chatter(self):
        before = self.env["mail.tracking.value"].search_count([])
        self.owner.with_user(self.owner).write({"didww_voip_secret": SECRET_A})
        self.env.flush_all()
        self.assertEqual(self.env["mail.tracking.value"].search_count([]), before)
        self.assertFalse(self.env["mail.message"].search([("body", "ilike", SECRET_A)]))

    def test_the_sweep_notices_a_field_that_does_leak(self):
        """The sweep's own check: a searchable field of the owner (their login) changes answers."""
        questions = self._path_questions("res.users", "login", [("res.partner", "user_ids")])
        answers = self._answers(lambda secret: self.owner.write({"login": secret}), questions)
        self.assertNotEqual(answers[SECRET_A], answers[SECRET_Z])

    def test_other_users_cannot_set_the_secret(self):
        self._set_owner_secret(SECRET_A)
        with self.assertRaises(AccessError):
            self.owner.with_user(self.other).write({"didww_voip_secret": "hijack"})
        with self.assertRaises(AccessError):
            self.owner.with_user(self.other).sudo().write({"didww_voip_secret": "hijack"})
        self.assertEqual(self.owner.didww_voip_secret, SECRET_A)

    def test_clearing_the_secret_removes_it(self):
        self.owner.with_user(self.owner).write({"didww_voip_secret": SECRET_A})
        self.owner.with_user(self.owner).write({"didww_voip_secret": False})
        self.assertFalse(self.env["didww.voip.credential"].search([("user_id", "=", self.owner.id)]))
        self.assertFalse(self.owner.didww_voip_secret)

    def test_upgrading_from_the_stored_field_keeps_existing_secrets(self):
        """18.0.1.0.0 stored secrets in res_users.didww_voip_secret; the migration moves them."""
        cr = self.env.cr
        self.env["didww.voip.credential"].search([]).unlink()  # the 18.0.1.0.0 state: no such table yet
        cr.execute("ALTER TABLE res_users ADD COLUMN didww_voip_secret varchar")
        cr.execute("UPDATE res_users SET didww_voip_secret = %s WHERE id = %s", [SECRET_A, self.owner.id])
        cr.execute("UPDATE res_users SET didww_voip_secret = '' WHERE id = %s", [self.other.id])
        adopted = self.env["didww.voip.credential"]._adopt_legacy_column()
        self.assertEqual(adopted, 1)
        self.assertEqual(self.owner.with_user(self.owner).didww_voip_secret, SECRET_A)
        self.assertFalse(self.other.with_user(self.other).didww_voip_secret)
        cr.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'res_users' "
                   "AND column_name = 'didww_voip_secret'")
        self.assertFalse(cr.fetchone(), "no copy of the secrets is left where other users could reach it")
        self.assertEqual(self.env["didww.voip.credential"]._adopt_legacy_column(), 0, "runs once")


class TestCompanySecretsAreAdminOnly(SecretSweepCase):

    def test_no_question_on_companies_depends_on_their_secrets(self):
        company = self.env.company
        Company = self.env["res.company"].with_user(self.other)
        questions = []
        for field in COMPANY_SECRET_FIELDS:
            questions += [
                (f"read {field}", lambda field=field: Company.browse(company.id).read([field])),
                (f"web_read {field}", lambda field=field: Company.browse(company.id).web_read({field: {}})),
                (f"search {field}", lambda field=field: Company.search([(field, "=like", "a%")])),
                (f"order {field}", lambda field=field: Company.search([], order=field)),
                (f"read_group {field}", lambda field=field: Company.read_group([], [f"{field}:max"], [])),
                (f"export {field}", lambda field=field: Company.browse(company.id).export_data([field])),
                (f"users' company path {field}", lambda field=field: self.env["res.users"].with_user(
                    self.other).web_search_read([("id", "=", self.owner.id)], {"company_id": {"fields": {field: {}}}})),
                (f"settings {field}", lambda field=field: self.env["res.config.settings"].with_user(
                    self.other).create({}).read([field])),
            ]
            questions += self._path_questions("res.company", field, [("res.users", "company_id")])

        def set_secrets(secret):
            company.write({field: secret for field in COMPANY_SECRET_FIELDS if field != "didww_webhook_url"})

        self.assertGreater(len(questions), 500)
        self._assert_same_answers(set_secrets, questions)

    def test_administrators_still_read_the_company_secrets(self):
        self.env.company.didww_api_key = SECRET_A
        admin = self.env.ref("base.user_admin")
        self.assertEqual(self.env.company.with_user(admin).didww_api_key, SECRET_A)
