"""The softphone end to end: two headless Chromium sessions logged in as two users, registered to a
local Kamailio over wss://, call each other with fake media (see tests/kamailio_server.py).

Missing kamailio or chromium is a loud failure. Tagged apart (``didww_connector_kamailio``, not
``standard``): a plain ``odoo-bin --test-enable`` leaves it out, ``dev/didww.py test`` runs it.
"""

import json
import logging
import os
import time
import unittest

from odoo import SUPERUSER_ID, api
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import ChromeBrowser

from .kamailio_server import KamailioServer, require_browser

WSS_PORT = int(os.environ.get("DIDWW_TEST_KAMAILIO_PORT", "8441"))
MEDIA_SWITCHES = [
    "--use-fake-ui-for-media-stream",  # grant the microphone without a prompt
    "--use-fake-device-for-media-stream",  # a synthetic microphone
    "--allow-loopback-in-peer-connection",  # ICE candidates on 127.0.0.1 (else no INVITE leaves)
    "--ignore-certificate-errors",  # Kamailio's throwaway certificate
]


class SoftphoneBrowser(ChromeBrowser):
    """Odoo's test browser with fake media devices for WebRTC."""

    def _spawn_chrome(self, cmd):
        url = cmd.pop()
        return super()._spawn_chrome([*cmd, *MEDIA_SWITCHES, url])


@tagged("post_install", "-at_install", "didww_connector", "-standard", "didww_connector_browser",
        "didww_connector_kamailio")
class TestSoftphoneEndToEnd(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        require_browser()
        cls.kamailio = KamailioServer({"1001": "alice-sip-pw", "1002": "bob-sip-pw"}, WSS_PORT)
        cls.addClassCleanup(cls.kamailio.cleanup)
        cls.kamailio.start()
        cls.provider = cls.env["didww.voip.provider"].create({
            "name": "Local Kamailio", "ws_server": cls.kamailio.url, "pbx_server": "sip.test"})
        cls.alice = new_test_user(cls.env, login="sp_alice", password="sp_alice_pw1", name="Alice Agent",
                                  groups="base.group_user,base.group_partner_manager")
        cls.bob = new_test_user(cls.env, login="sp_bob", password="sp_bob_pw12", name="Bob Agent",
                                groups="base.group_user,base.group_partner_manager")
        cls.alice.write({"didww_voip_provider_id": cls.provider.id, "didww_voip_username": "1001",
                         "didww_voip_secret": "alice-sip-pw"})
        cls.bob.write({"didww_voip_provider_id": cls.provider.id, "didww_voip_username": "1002",
                       "didww_voip_secret": "bob-sip-pw"})
        # the contact Alice calls has Bob's extension; the one Bob sees ringing has Alice's
        cls.bob_desk = cls.env["res.partner"].create({"name": "Bob's Desk", "phone": "1002"})
        cls.alice_desk = cls.env["res.partner"].create({"name": "Alice's Desk", "phone": "1001"})

    def setUp(self):
        super().setUp()
        if not self.kamailio.process:
            self.kamailio.start()
        # every log line of the test (the browsers' consoles included) is checked for the secrets
        self.log_lines = []
        handler = logging.Handler(logging.DEBUG)
        handler.emit = lambda record: self.log_lines.append(record.getMessage())
        root = logging.getLogger()
        root.addHandler(handler)
        self.addCleanup(root.removeHandler, handler)
        # the browsers' console lines are logged under the test's logger, at info level
        test_logger = logging.getLogger("odoo.addons.didww_connector.tests")
        self.addCleanup(test_logger.setLevel, test_logger.level)
        test_logger.setLevel(logging.INFO)
        self.addCleanup(self.assert_no_secret_logged)

    def assert_no_secret_logged(self):
        for secret in ("alice-sip-pw", "bob-sip-pw"):
            leaks = [line for line in self.log_lines if secret in line]
            self.assertFalse(leaks, "a VoIP secret reached a log line")
        self.assertNotIn("alice-sip-pw", self.kamailio.log())

    # ------------------------------------------------------------------------------------------

    def open_browsers(self, *logins):
        """One browser per (login, password, path), all logged in before any page loads: the
        test's database cursor is shared with the server and must stay idle while pages load."""
        browsers = []
        for login, password, _path in logins:
            try:
                browser = SoftphoneBrowser(self)
            except unittest.SkipTest as exc:  # Odoo skips when Chromium cannot start: we fail loudly
                raise RuntimeError(f"Chromium did not start, the softphone's browser tests cannot run: {exc}") from exc
            self.addCleanup(browser.stop)
            # each browser keeps its own session: forget the previous one instead of deleting it
            self.session = None
            self.authenticate(login, password, browser=browser)
            browser.login = login
            browsers.append(browser)
        self.env.flush_all()
        self.cr.flush()
        self.cr.clear()
        for browser, (_login, _password, path) in zip(browsers, logins, strict=True):
            browser.navigate_to(f"{self.base_url()}{path}", wait_stop=True)
        for browser in browsers:
            self.wait_for(browser, "document.querySelector('.o_didww_softphone') !== null",
                          "the softphone in the top bar")
        return browsers

    def open_browser(self, login, password, path="/odoo"):
        return self.open_browsers((login, password, path))[0]

    def js(self, browser, expression):
        answer = browser._websocket_request("Runtime.evaluate", params={
            "expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in answer:
            raise AssertionError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def softphone(self, browser):
        return self.js(browser, """(() => {
            const el = document.querySelector('.o_didww_softphone');
            return el && {status: el.dataset.status, reason: el.dataset.reason || '', call: el.dataset.call || '',
                          name: el.querySelector('.o_didww_softphone_name')?.textContent.trim() || '',
                          timer: el.querySelector('.o_didww_softphone_timer')?.textContent.trim() || ''};
        })()""")

    def wait_for(self, browser, expression, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.js(browser, f"(() => {{ try {{ return Boolean({expression}); }} catch {{ return false; }} }})()"):
                return
            time.sleep(0.2)
        state = self.js(browser, "document.querySelector('.o_didww_softphone')?.outerHTML || document.title")
        self.fail(f"{browser.login if hasattr(browser, 'login') else 'browser'}: waited {timeout} s for {what}; "
                  f"softphone: {state}\nKamailio log tail:\n{self.kamailio.log()[-2000:]}")

    def wait_state(self, browser, timeout=30, **expected):
        checks = " && ".join(f"el.dataset.{key} === {json.dumps(value)}" for key, value in expected.items())
        self.wait_for(browser, f"(el => el && {checks})(document.querySelector('.o_didww_softphone'))",
                      f"softphone {expected}", timeout)

    def click(self, browser, selector):
        self.assertTrue(self.js(browser, f"""(() => {{
            const el = document.querySelector({json.dumps(selector)});
            if (el) {{ el.click(); }}
            return Boolean(el);
        }})()"""), f"{selector} not found")

    def audio_packets_received(self, browser):
        return self.js(browser, """(async () => {
            const session = odoo.__WOWL_DEBUG__.root.env.services.didww_softphone.session;
            if (!session?.connection) { return 0; }
            let packets = 0;
            (await session.connection.getStats()).forEach((report) => {
                if (report.type === 'inbound-rtp' && report.kind === 'audio') { packets += report.packetsReceived; }
            });
            return packets;
        })()""")

    def assert_no_browser_error(self, *browsers):
        for browser in browsers:
            self.assertFalse(browser.had_failure, f"{browser.login}'s browser logged an error (see the log)")

    # ------------------------------------------------------------------------------------------

    def test_a_clicks_a_contact_phone_b_answers_a_hangs_up_both_calls_logged(self):
        alice, bob = self.open_browsers(("sp_alice", "sp_alice_pw1", f"/odoo/contacts/{self.bob_desk.id}"),
                                        ("sp_bob", "sp_bob_pw12", "/odoo"))
        self.wait_state(alice, status="ready")
        self.wait_state(bob, status="ready")

        self.wait_for(alice, "document.querySelector(\"div[name='phone'] a.o_phone_form_link\")", "the Call link")
        self.click(alice, "div[name='phone'] a.o_phone_form_link")
        self.wait_state(bob, call="ringing")
        self.wait_for(bob, "document.querySelector('.o_didww_softphone_name').textContent.trim() === \"Alice's Desk\"",
                      "the caller's contact name on the ringing call")
        self.assertEqual(self.softphone(alice)["call"], "calling")
        self.assertEqual(self.softphone(alice)["name"], "Bob's Desk")

        self.click(bob, ".o_didww_softphone_answer")
        self.wait_state(bob, call="active")
        self.wait_state(alice, call="active")
        self.wait_for(alice, "document.querySelector('.o_didww_softphone_timer').textContent.trim() !== '00:00'",
                      "the call timer to run", timeout=10)
        # audio flows both ways (fake microphones): inbound RTP on both sides
        for browser in (alice, bob):
            deadline = time.monotonic() + 10
            while self.audio_packets_received(browser) < 10:
                self.assertLess(time.monotonic(), deadline, f"{browser.login} receives no audio")
                time.sleep(0.2)
        self.click(alice, ".o_didww_softphone_hangup")
        self.wait_for(alice, "!document.querySelector('.o_didww_softphone').dataset.call", "Alice's call to end")
        self.wait_for(bob, "!document.querySelector('.o_didww_softphone').dataset.call", "Bob's call to end")

        # the browsers still talk to the server: read through a cursor that takes the test lock
        deadline = time.monotonic() + 10
        while True:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                calls = env["didww.call"].search([("user_id", "in", (self.alice | self.bob).ids)])
                values = {call.user_id.id: {
                    "direction": call.direction, "number": call.number, "partner_id": call.partner_id.id,
                    "state": call.state, "duration": call.duration} for call in calls}
                notes = {partner.id: partner.message_ids[:1].body or ""
                         for partner in env["res.partner"].browse((self.bob_desk | self.alice_desk).ids)}
            if (len(calls) == 2 and all(v["state"] == "done" for v in values.values())) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(len(values), 2, values)
        outgoing, incoming = values[self.alice.id], values[self.bob.id]
        self.assertEqual({k: outgoing[k] for k in ("direction", "number", "partner_id", "state")},
                         {"direction": "outgoing", "number": "1002", "partner_id": self.bob_desk.id, "state": "done"})
        self.assertEqual({k: incoming[k] for k in ("direction", "number", "partner_id", "state")},
                         {"direction": "incoming", "number": "1001", "partner_id": self.alice_desk.id, "state": "done"})
        self.assertGreaterEqual(outgoing["duration"], 1)
        self.assertIn("Outgoing call to 1002 by Alice Agent", notes[self.bob_desk.id])
        self.assertIn("Incoming call from 1001 answered by Bob Agent", notes[self.alice_desk.id])
        self.assert_no_browser_error(alice, bob)

    def test_wrong_secret_shows_wrong_credentials(self):
        self.bob.didww_voip_secret = "not-bob-sip-pw"
        self.env.flush_all()
        bob = self.open_browser("sp_bob", "sp_bob_pw12")
        self.wait_state(bob, status="failed", reason="credentials")
        text = self.js(bob, "document.querySelector('.o_didww_softphone_toggle').click(); "
                            "new Promise(r => setTimeout(r, 100)).then(() => "
                            "document.querySelector('.o_didww_softphone_reason').textContent)")
        self.assertIn("Wrong credentials", text)
        self.assert_no_browser_error(bob)

    def test_stopped_server_shows_unreachable_and_recovers_when_it_returns(self):
        alice = self.open_browser("sp_alice", "sp_alice_pw1")
        self.wait_state(alice, status="ready")
        self.kamailio.stop()
        self.wait_state(alice, status="reconnecting", reason="unreachable")
        self.kamailio.start()
        self.wait_state(alice, status="ready", reason="", timeout=60)
        self.assert_no_browser_error(alice)

    def test_the_user_switches_the_softphone_off_and_on(self):
        alice = self.open_browser("sp_alice", "sp_alice_pw1")
        self.wait_state(alice, status="ready")
        self.click(alice, ".o_didww_softphone_toggle")
        self.wait_for(alice, "document.querySelector('.o_didww_softphone_enabled')", "the on/off switch")
        self.click(alice, ".o_didww_softphone_enabled")
        self.wait_state(alice, status="off")
        self.click(alice, ".o_didww_softphone_enabled")
        self.wait_state(alice, status="ready")
        self.assert_no_browser_error(alice)
