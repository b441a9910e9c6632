import socket
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import DidwwCase
from .fake_didww import reconcile

TOO_MANY = {"errors": [{"title": "Too Many Requests", "detail": "slow down"}]}


@tagged("post_install", "-at_install", "didww_connector")
class TestSmsFaults(DidwwCase):
    """The short version of ``dev/faults_outbound.py``: DIDWW misbehaves during a mass SMS, the
    queue runs until nothing is left, and what DIDWW received is reconciled with what Odoo shows."""

    def queue_mass_sms(self, count=12):
        partners = self.env["res.partner"].create([
            {"name": f"F{i}", "mobile": f"+3706{i:07d}", "country_id": self.lt.id} for i in range(count)])
        self.env["sms.composer"].with_user(self.user_sales).with_context(
            default_res_model="res.partner", default_res_ids=partners.ids, default_composition_mode="mass",
        ).create({"body": "Hi {{ object.name }}"}).action_send_sms()
        return self.env["sms.sms"].sudo().search([("partner_id", "in", partners.ids)])

    def run_queue_until_done(self, sms, runs=8):
        """The cron, again and again, as if each retry's time had come."""
        for _run in range(runs):
            self.env["sms.sms"]._process_queue()
            waiting = sms.filtered(lambda record: record.state == "outgoing")
            if not waiting:
                break
            waiting.didww_next_attempt = fields.Datetime.now() - timedelta(seconds=1)

    def assert_reconciled(self, sms):
        problems, summary = reconcile(
            [(sent["id"], sent["destination"]) for sent in self.fake.sent],
            [{"destination": record.number.lstrip("+"), "state": record.state,
              "message_id": record.didww_message_id, "reason": record.didww_failure_reason} for record in sms])
        self.assertEqual(problems, [])
        return summary

    def test_an_outage_of_5xx_then_recovery_sends_every_sms_exactly_once(self):
        sms = self.queue_mass_sms()
        self.fake.script("/outbound_messages", status=503, times=18)  # the first run fails, half the second
        self.run_queue_until_done(sms)
        summary = self.assert_reconciled(sms)
        self.assertEqual(summary["sent"], 12)
        self.assertEqual(max(sms.mapped("didww_attempts")), 2)

    def test_429_with_retry_after_is_honoured_then_sent_once(self):
        sms = self.queue_mass_sms(6)
        self.fake.script("/outbound_messages", status=429, body=TOO_MANY, headers={"Retry-After": "600"}, times=6)
        self.env["sms.sms"]._process_queue()
        self.assertEqual(set(sms.mapped("state")), {"outgoing"})
        self.assertGreaterEqual(min(sms.mapped("didww_next_attempt")),
                                fields.Datetime.now() + timedelta(seconds=590), "Retry-After is honoured")
        self.env["sms.sms"]._process_queue()
        self.assertEqual(len(self.outbound_requests()), 6, "not retried before DIDWW's time")
        self.run_queue_until_done(sms)
        self.assertEqual(self.assert_reconciled(sms)["sent"], 6)

    def test_timeouts_and_dropped_connections_are_retried_and_never_sent_twice(self):
        # Odoo's test mode raises timeouts under 10 s to 10 s: two requests hang 11 s, in parallel
        self.env["ir.config_parameter"].sudo().set_param("didww_connector.timeout", "10")
        sms = self.queue_mass_sms(8)
        self.fake.script("/outbound_messages", delay=11, drop=True, times=2)
        self.fake.script("/outbound_messages", drop=True, times=3)
        self.run_queue_until_done(sms)
        summary = self.assert_reconciled(sms)
        self.assertEqual(summary["sent"], 8)
        self.assertEqual(len(self.outbound_requests()), 13)

    def test_an_outage_longer_than_the_retries_fails_every_sms_with_a_reason(self):
        sms = self.queue_mass_sms(4)
        self.fake.script("/outbound_messages", status=503, times=100)
        self.run_queue_until_done(sms)
        summary = self.assert_reconciled(sms)
        self.assertEqual((summary["sent"], summary["failed"]), (0, 4))
        self.assertIn("after 6 attempts", sms[0].didww_failure_reason)


@tagged("post_install", "-at_install", "didww_connector")
class TestSmsRetryVisible(DidwwCase):
    """Issue: a wrong API URL kept an SMS silently "In Queue" for 23 minutes."""

    def send(self):
        message = self.partner.with_user(self.user_sales)._message_sms("Hello")
        return message, self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])

    def closed_port_url(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return f"http://127.0.0.1:{probe.getsockname()[1]}"

    def test_while_retrying_the_message_says_attempt_next_try_and_why(self):
        self.fake.script("/outbound_messages", status=503, body={"errors": [{"detail": "maintenance"}]})
        message, sms = self.send()
        notification = message.notification_ids
        self.assertEqual(notification.notification_status, "ready")
        self.assertEqual(notification.failure_reason, "DIDWW is temporarily unavailable",
                         "in words, the time is the reader's (the popover renders the next attempt)")
        self.assertTrue(sms.didww_next_attempt)
        self.assertIn("attempt 1 of 6", sms.didww_failure_reason)
        self.assertIn("maintenance", sms.didww_failure_reason, "DIDWW's answer, for administrators")
        self.assertEqual(sms.didww_source, "+37041123456")
        sms.didww_next_attempt = fields.Datetime.now() - timedelta(seconds=1)
        self.env["sms.sms"]._process_queue()
        self.assertEqual(notification.notification_status, "pending")
        self.assertFalse(sms.didww_failure_reason)

    def test_a_connection_refused_twice_fails_soon_pointing_at_the_api_url(self):
        url = self.closed_port_url()
        self.company.didww_sms_api_url = url
        message, sms = self.send()
        notification = message.notification_ids
        self.assertEqual((sms.state, notification.notification_status), ("outgoing", "ready"),
                         "one refusal may be DIDWW restarting: retried once")
        self.assertIn("refused", notification.failure_reason)
        sms.didww_next_attempt = fields.Datetime.now() - timedelta(seconds=1)
        self.env["sms.sms"]._process_queue()
        self.assertEqual((sms.state, sms.didww_attempts), ("error", 1), "refused again: no more attempts")
        self.assertEqual(notification.notification_status, "exception")
        self.assertIn("refused", notification.failure_reason)
        self.assertIn(url, notification.failure_reason)
        self.assertIn("Outbound SMS API URL", notification.failure_reason)

    def test_a_tls_failure_fails_at_once_pointing_at_the_api_url(self):
        self.company.didww_sms_api_url = self.fake.url.replace("http://", "https://")
        message, sms = self.send()
        self.assertEqual(sms.state, "error")
        notification = message.notification_ids
        self.assertEqual((notification.notification_status, notification.failure_type), ("exception", "sms_server"))
        self.assertIn("TLS", notification.failure_reason)
        self.assertIn("Outbound SMS API URL", notification.failure_reason)

    def test_a_refusal_then_a_server_error_keeps_retrying(self):
        self.company.didww_sms_api_url = self.closed_port_url()
        _message, sms = self.send()
        self.company.didww_sms_api_url = self.fake.url
        self.fake.script("/outbound_messages", status=502)
        sms.didww_next_attempt = fields.Datetime.now() - timedelta(seconds=1)
        self.env["sms.sms"]._process_queue()
        self.assertEqual((sms.state, sms.didww_attempts), ("outgoing", 2))
        sms.didww_next_attempt = fields.Datetime.now() - timedelta(seconds=1)
        self.env["sms.sms"]._process_queue()
        self.assertEqual(sms.state, "pending")
