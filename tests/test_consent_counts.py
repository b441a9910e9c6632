import re

from freezegun import freeze_time

from odoo.tests import tagged

from .common import DidwwCase
from .consent_common import ConsentMixin

AFTERNOON_NY = "2026-12-01 20:00:00"  # 15:00 in New York, 22:00 in Vilnius


@tagged("post_install", "-at_install", "didww_connector")
class TestComposerCounts(ConsentMixin, DidwwCase):
    """Mass SMS: what the composer announces is what happens (same rules, same words), on one line."""

    def setUp(self):
        super().setUp()
        self.company.didww_quiet_scope = "automated"
        Lead = self.env["crm.lead"]
        self.leads = Lead.create([
            {"name": "1 New York", "phone": "+12125550142"},
            {"name": "2 same number", "phone": "+1 212 555 0142"},
            {"name": "3 no number"},
            {"name": "4 no number"},
            {"name": "5 wrong format", "phone": "12"},
            {"name": "6 Chicago", "phone": "+13125550111"},
            {"name": "7 opted out", "phone": "+14155550123"},
            {"name": "8 Vilnius, at night", "phone": "+37061234567"},
        ])
        self.keyword("STOP", sender="+14155550123")
        self.run_queue()
        self.fake.reset()

    def composer(self, **values):
        return self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="crm.lead", default_res_ids=self.leads.ids, default_composition_mode="mass",
            default_mass_keep_log=True).create({"body": "Offer", **values})

    @staticmethod
    def counts(text):
        """{label: count} of a count line, e.g. 'Missing number (2)' -> {'Missing number': 2}."""
        return {label.strip(" ,:."): int(count) for label, count in re.findall(r"([A-Za-z ]+) \((\d+)\)", text)}

    def test_the_counts_before_sending_are_the_counts_after(self):
        with freeze_time(AFTERNOON_NY, tick=True):
            composer = self.composer()
            before = composer.didww_recipients_info
            self.assertTrue(before.startswith("3 of the 8 selected will be texted."), before)
            self.assertIn("held by quiet hours: 1 held until 08:00 (recipient's local time)", before)
            self.assertEqual(self.counts(before.split("Not texted:")[1]), {
                "Opted out": 1, "Duplicate number": 1, "Wrong number format": 1, "Missing number": 2})
            after = composer.action_send_sms()["params"]["message"]
            self.assertTrue(after.startswith("3 SMS on their way."), after)
            self.assertIn("held by quiet hours: 1 held until 08:00 (recipient's local time)", after)
            self.assertIn("5 not sent:", after)
            self.assertEqual(self.counts(after.split("not sent:")[1]), self.counts(before.split("Not texted:")[1]))
            self.run_queue()
            self.assertEqual(sorted(destination for _s, destination, _c in self.sent()),
                             ["+12125550142", "+13125550111"], "the two in their window now")
        with freeze_time("2026-12-02 06:00:01", tick=True):  # 08:00 in Vilnius
            self.run_queue()
        self.assertEqual(len(self.sent()), 3, "and the held one in the morning: 3 texted, as announced")

    def test_without_the_blacklist_option_an_opted_out_number_is_still_counted_and_skipped(self):
        with freeze_time(AFTERNOON_NY, tick=True):
            composer = self.composer(mass_use_blacklist=False)
            self.assertIn("Opted out (1)", composer.didww_recipients_info)
            composer.action_send_sms()
            self.run_queue()
        self.assertNotIn("+14155550123", [destination for _s, destination, _c in self.sent()])

    def test_one_count_line_not_two(self):
        composer = self.composer()
        self.assertEqual(composer.recipient_invalid_count, 3, "Odoo would show its own banner")
        arch = self.env["sms.composer"].get_views([(False, "form")])["views"]["form"]["arch"]
        banner = re.search(r'<div class="alert alert-info text-center"[^>]*invisible="([^"]*)"', arch)
        self.assertIn("didww_recipients_info", banner.group(1), "Odoo's banner steps aside for the addon's line")
