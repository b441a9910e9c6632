from datetime import datetime

from odoo.addons.didww_connector.tools import didww_quiet_hours as qh
from odoo.tests import tagged
from odoo.tests.common import BaseCase


@tagged("post_install", "-at_install", "didww_connector")
class TestQuietHoursTools(BaseCase):
    """The recipient's time zone and the next opening of the texting window (plain Python)."""

    def test_the_number_says_the_time_zone_where_it_knows_one(self):
        self.assertEqual(qh.recipient_timezone("+12125550142", "Asia/Tokyo", "Europe/Paris"),
                         ("America/New_York", "number"))
        self.assertEqual(qh.recipient_timezone("+14155550100")[0], "America/Los_Angeles")

    def test_else_the_contact_then_the_company_then_utc(self):
        toll_free = "+18005550100"  # a whole continent: phonenumbers gives many zones
        self.assertGreater(len(qh.number_timezones(toll_free)), 1)
        self.assertEqual(qh.recipient_timezone(toll_free, "America/Chicago", "Europe/Paris"),
                         ("America/Chicago", "contact"))
        self.assertEqual(qh.recipient_timezone(toll_free, False, "Europe/Paris"), ("Europe/Paris", "company"))
        self.assertEqual(qh.recipient_timezone(toll_free, "Not/AZone", None), ("UTC", "default"))
        self.assertEqual(qh.recipient_timezone("not a number"), ("UTC", "default"))

    def test_inside_the_window_nothing_waits(self):
        self.assertIsNone(qh.next_opening(datetime(2026, 12, 1, 13, 0), "America/New_York"))  # 08:00
        self.assertIsNone(qh.next_opening(datetime(2026, 12, 2, 1, 59), "America/New_York"))  # 20:59

    def test_evening_and_night_wait_for_the_next_morning_local_time(self):
        release, local = qh.next_opening(datetime(2026, 12, 2, 2, 0), "America/New_York")  # 21:00
        self.assertEqual(release, datetime(2026, 12, 2, 13, 0))
        self.assertEqual(local.strftime("%Y-%m-%d %H:%M"), "2026-12-02 08:00")
        release, _local = qh.next_opening(datetime(2026, 12, 2, 10, 0), "America/New_York")  # 05:00 same day
        self.assertEqual(release, datetime(2026, 12, 2, 13, 0))
        self.assertIsNone(qh.next_opening(datetime(2026, 12, 1, 23, 30), "Asia/Tokyo"))

    def test_daylight_saving_days(self):
        # 8 March 2026: New York springs forward at 02:00; the window still opens at 08:00 local
        release, local = qh.next_opening(datetime(2026, 3, 8, 5, 0), "America/New_York")
        self.assertEqual((release, local.hour), (datetime(2026, 3, 8, 12, 0), 8))
        # a window opening at 02:30, a time that does not exist that night, opens at 03:30
        release, local = qh.next_opening(datetime(2026, 3, 8, 6, 0), "America/New_York", 2.5, 21.0)
        self.assertEqual((release, local.hour, local.minute), (datetime(2026, 3, 8, 7, 30), 3, 30))

    def test_custom_windows_across_midnight_and_an_empty_window(self):
        self.assertIsNone(qh.next_opening(datetime(2026, 12, 1, 23, 0), "UTC", 20.0, 2.0))
        release, _local = qh.next_opening(datetime(2026, 12, 1, 3, 0), "UTC", 20.0, 2.0)
        self.assertEqual(release, datetime(2026, 12, 1, 20, 0))
        self.assertIsNone(qh.next_opening(datetime(2026, 12, 1, 3, 0), "UTC", 8.0, 8.0), "no quiet hours")
        self.assertEqual(qh.hour_to_time(8.5).strftime("%H:%M"), "08:30")
