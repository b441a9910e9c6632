"""The failure screens of issue 24 (items 3, 4, 5) in a real browser: tours on headless Chromium
(static/tests/tours/); the records behind them are checked in test_sms_failures_shown."""

import threading
from contextlib import contextmanager

from odoo.addons.bus.models.bus import dispatch
from odoo.tests import tagged

from .common import DidwwHttpCase

INVALID = {"errors": [{"title": "Bad Request", "detail": "destination - is invalid", "status": "400"}]}


@tagged("post_install", "-at_install", "didww_connector", "-standard", "didww_connector_browser")
class TestUiFailures(DidwwHttpCase):

    def lead(self, name, phone="+16039955555"):
        return self.env["crm.lead"].create({"name": name, "contact_name": "Deco", "phone": phone,
                                            "type": "opportunity", "user_id": self.user_sales.id})

    @contextmanager
    def bus_notify(self):
        """The bus in a test server. A request's bus messages are rows written at its commit, and
        a PostgreSQL NOTIFY after it wakes the websockets, which then send their new rows; test
        cursors drop post-commit hooks (odoo/sql_db.py TestCursor.commit), so no NOTIFY comes. This
        wakes every open websocket twice a second, as the bus's listener does on a NOTIFY (Odoo's
        bus tests do the same: bus/tests/common.py trigger_notification_dispatching)."""
        stop = threading.Event()

        def wake_websockets():
            while not stop.wait(0.5):
                for websocket in {ws for sockets in list(dispatch._channels_to_ws.values()) for ws in list(sockets)}:
                    websocket.trigger_notification_dispatching()

        thread = threading.Thread(target=wake_websockets, name="didww-test-bus-notify", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def test_tour_a_salesperson_reads_the_failures_corrects_a_number_and_is_told_of_a_set_up_failure(self):
        lead = self.lead("Deco Addict Furniture Showroom Renovation")
        self.fake.script("/outbound_messages", status=400, body=INVALID)
        lead.with_user(self.user_sales)._message_sms("Number failure")
        self.company.didww_sms_password = "wrong-password-123"
        lead.with_user(self.user_sales)._message_sms("Set-up failure")
        self.company.didww_sms_password = self.fake.password
        self.fake.reset()
        self.start_tour(f"/odoo/action-crm.crm_lead_action_pipeline/{lead.id}", "didww_sms_failures_dialog_tour",
                        login=self.user_sales.login)
        (request,) = self.outbound_requests()
        self.assertEqual(request["json"]["data"]["attributes"]["destination"], "16039955556", "the corrected number")
        set_up = lead.message_ids.filtered(lambda message: "Set-up failure" in message.body)
        self.assertEqual(set_up.notification_ids.notification_status, "exception", "left for the administrator")

    def test_tour_an_admin_reads_didww_reasons_and_from_numbers_in_the_sms_list(self):
        self.fake.script("/outbound_messages", status=400, body=INVALID)
        self.partner_us.with_user(self.user_sales)._message_sms("Refused")
        self.company.didww_sms_password = "wrong-password-123"
        self.partner.with_user(self.user_sales)._message_sms("Trunk")
        self.start_tour("/odoo/action-sms.sms_sms_action", "didww_sms_list_tour", login="admin")

    def test_tour_a_retried_sms_says_why_and_when_and_the_open_page_drops_the_line_once_sent(self):
        self.env["ir.config_parameter"].sudo().set_param("didww_connector.retry_backoff", "0")
        lead = self.lead("Retry lead", phone="+37041654321")
        self.fake.script("/outbound_messages", status=503, body={"errors": [{"detail": "maintenance"}]})
        message = lead.with_user(self.env.ref("base.user_admin"))._message_sms("Still there?")
        notification = message.sudo().notification_ids
        self.assertEqual((notification.notification_status, self.fake.sent), ("ready", []))
        with self.bus_notify():
            self.start_tour(f"/odoo/action-crm.crm_lead_action_pipeline/{lead.id}", "didww_sms_retry_live_tour",
                            login="admin")
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual([sms["content"] for sms in self.fake.sent], ["Still there?"])
