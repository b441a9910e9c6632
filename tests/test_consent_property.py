import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun import freeze_time

from odoo.tests import tagged

from .common import DidwwCase
from .consent_common import ConsentMixin

CUSTOMERS = {  # number -> its time zone, as the test knows it (not the addon's computation)
    "+12125550142": "America/New_York",
    "+14155550123": "America/Los_Angeles",
    "+37061234567": "Europe/Vilnius",
}
START = datetime(2026, 12, 1, 12, 0)


@tagged("post_install", "-at_install", "didww_connector")
class TestConsentProperty(ConsentMixin, DidwwCase):
    """Random STOP / START / HELP deliveries to two companies' numbers, sends on several paths and
    clock jumps across time zones and midnight. Whatever the sequence, the fake DIDWW never gets
    an SMS to a number opted out of the sending company, nor one outside the recipient's 08:00 -
    21:00 unless a person chose to send now; every held SMS leaves exactly once (or is stopped by
    an opt-out that came while it waited)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.didww_quiet_scope = "automated"
        cls.company_b.didww_quiet_scope = "all"
        cls.number_us.optin_reply = "A: welcome back."
        cls.companies = {"A": (cls.company, cls.number_us), "B": (cls.company_b, cls.number_b)}
        cls.leads = {
            (key, number): cls.env["crm.lead"].create({
                "name": f"{key} {number}", "phone": number, "company_id": company.id, "user_id": cls.user_sales.id})
            for key, (company, _number) in cls.companies.items() for number in CUSTOMERS}

    def test_random_sequences_keep_the_rules(self):
        for seed in (7, 2026):
            with self.subTest(seed=seed):
                self.fake.reset()
                self.env["didww.sms.consent"].sudo().with_context(didww_consent_ledger=True).search([]).unlink()
                self.env["sms.sms"].sudo().search([]).unlink()
                self.run_sequence(random.Random(seed), steps=150)

    def run_sequence(self, rnd, steps):
        self.opted_out = set()  # (company key, number): the test's own model of the ledger
        self.expected = {}  # body -> (company key, number, send_now)
        self.checked = 0
        self.now = START + timedelta(minutes=rnd.randrange(24 * 60))
        with freeze_time(self.now) as clock:
            self.clock = clock
            for step in range(steps):
                action = rnd.choices(("keyword", "send", "jump", "queue"), weights=(3, 5, 2, 3))[0]
                getattr(self, f"step_{action}")(rnd, step)
                self.check_sent()
            # every held SMS leaves once its window opens (two days cover every zone)
            for _hour in range(48):
                self.jump(timedelta(hours=1))
                self.run_queue()
                self.check_sent()
        bodies = [content for _source, _destination, content in self.sent() if content in self.expected]
        self.assertEqual(len(bodies), len(set(bodies)), "no SMS was sent twice")
        left = self.env["sms.sms"].sudo().search([("state", "=", "outgoing"), ("body", "in", list(self.expected))])
        self.assertFalse(left, "no SMS is left waiting")
        for body in self.expected:
            sms = self.env["sms.sms"].sudo().search([("body", "=", body)])
            if body not in bodies:
                self.assertEqual(sms.failure_type, "sms_blacklist", f"{body}: neither sent nor stopped by an opt-out")

    def step_keyword(self, rnd, _step):
        key = rnd.choice("AB")
        _company, number = self.companies[key]
        customer = rnd.choice(list(CUSTOMERS))
        word = rnd.choice(("STOP", "START", "HELP", "stop", "Start.", "info"))
        self.keyword(word, sender=customer, number=number)
        if word.upper().strip(".") == "STOP":
            self.opted_out.add((key, customer))
        elif word.upper().strip(".") == "START":
            self.opted_out.discard((key, customer))

    def step_send(self, rnd, step):
        key = rnd.choice("AB")
        company, _number = self.companies[key]
        customer = rnd.choice(list(CUSTOMERS))
        lead = self.leads[(key, customer)].with_user(self.user_sales).with_context(
            allowed_company_ids=[company.id, self.company.id, self.company_b.id])
        body = f"msg-{step}-{key}"
        path = rnd.choice(("by_hand", "by_hand_now", "mass", "chatter", "direct"))
        self.expected[body] = (key, customer, path == "by_hand_now")
        if path.startswith("by_hand"):
            self.env["sms.composer"].with_user(self.user_sales).with_context(
                allowed_company_ids=lead.env.context["allowed_company_ids"], default_res_model="crm.lead",
                default_res_id=lead.id, default_composition_mode="comment",
            ).create({"body": body, "didww_send_now": path == "by_hand_now"}).action_send_sms()
        elif path == "mass":
            self.env["sms.composer"].with_user(self.user_sales).with_context(
                allowed_company_ids=lead.env.context["allowed_company_ids"], default_res_model="crm.lead",
                default_res_ids=lead.ids, default_composition_mode="mass", default_mass_keep_log=True,
                default_body=body).create({}).action_send_sms()
        elif path == "chatter":
            lead._message_sms(body)  # as automated code posts an SMS on a document
        else:
            self.env["sms.sms"].sudo().create({"number": customer, "body": body, "didww_company_id": company.id})

    def step_jump(self, rnd, _step):
        self.jump(timedelta(minutes=rnd.randrange(5, 14 * 60)))

    def step_queue(self, _rnd, _step):
        self.run_queue()

    def jump(self, delta):
        self.now += delta
        self.clock.move_to(self.now)

    def check_sent(self):
        """Each SMS the fake received since the last check, against the rules at this moment."""
        keys = {company: key for key, (company, _number) in self.companies.items()}
        sources = {number.number: keys[number.company_id] for number in self.env["didww.sms.number"].search([])}
        for source, destination, content in self.sent()[self.checked:]:
            self.checked += 1
            if content not in self.expected:
                continue  # a reply to a keyword: sent whatever the consent and the hour
            key, customer, send_now = self.expected[content]
            self.assertEqual((sources[source], destination), (key, customer), content)
            self.assertNotIn((key, customer), self.opted_out, f"{content}: texted after an opt-out")
            if not send_now:
                local = self.now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(CUSTOMERS[customer]))
                scope = self.companies[key][0].didww_quiet_scope
                by_hand = self.env["sms.sms"].sudo().search([("body", "=", content)]).didww_by_hand
                if scope == "all" or not by_hand:
                    self.assertTrue(8 <= local.hour < 21, f"{content}: texted at {local:%H:%M} local time")
