from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import DidwwSmsCase


@tagged("post_install", "-at_install", "didww_connector")
class TestSmsNotifications(DidwwSmsCase):
    """What a chatter SMS shows, checked with Odoo's own SMS assertions (``sms/tests/common.py``)."""

    def send(self, body, partner=None):
        with self.mockSMSGateway():
            return (partner or self.partner).with_user(self.user_sales)._message_sms(body)

    def test_accepted_sms_is_pending_on_its_notification(self):
        message = self.send("Labas!")
        self.assertSMSNotification([{"partner": self.partner, "number": "+37041654321", "state": "pending"}],
                                   "Labas!", message)
        self.assertSMS(self.partner, "+37041654321", "pending", content="Labas!",
                       fields_values={"didww_message_id": self.fake.sent[0]["id"], "didww_source": "+37041123456"})

    def test_refused_sms_fails_with_didww_reason(self):
        self.fake.script("/outbound_messages", status=400, body={"errors": [{"detail": "destination - is invalid"}]})
        message = self.send("Labas!")
        self.assertSMSNotification([{
            "partner": self.partner, "number": "+37041654321", "state": "exception", "failure_type": "unknown",
            "failure_reason": "DIDWW refused this SMS: destination - is invalid"}], "Labas!", message)
        self.assertSMSFailed(self.partner, "+37041654321", "unknown", content="Labas!")

    def test_invalid_number_fails_before_anything_is_sent(self):
        self.partner.phone = "12"
        message = self.send("Labas!")
        self.assertFalse(self.outbound_requests())
        self.assertSMSNotification([{"partner": self.partner, "number": "12", "state": "exception",
                                     "failure_type": "sms_number_format"}], "Labas!", message, check_sms=False)

    def test_transient_failure_stays_queued_then_sends(self):
        self.fake.script("/outbound_messages", status=503, body=None)
        message = self.send("Labas!")
        self.assertSMSNotification([{"partner": self.partner, "number": "+37041654321", "state": "ready"}],
                                   "Labas!", message)
        self.assertSMSOutgoing(self.partner, "+37041654321", content="Labas!", fields_values={"didww_attempts": 1})
        self.assertEqual(message.notification_ids.failure_reason, "DIDWW is temporarily unavailable")
        sms = self._find_sms_sms(self.partner, "+37041654321", "outgoing")
        sms.didww_next_attempt = fields.Datetime.now() - timedelta(seconds=1)
        with self.mockSMSGateway():
            self.env["sms.sms"]._process_queue()
        self.assertSMSNotification([{"partner": self.partner, "number": "+37041654321", "state": "pending"}],
                                   "Labas!", message, check_sms=False)  # this queue run created no SMS
        self.assertSMSIapSent(["+37041654321"], "Labas!")
        self.assertEqual(len(self.fake.sent), 1, "sent exactly once")
