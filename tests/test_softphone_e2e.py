"""The softphone end to end: two headless Chromium sessions logged in as two users, registered to a
local Kamailio over wss://, call each other with fake media (see tests/kamailio_server.py).

Missing kamailio or chromium is a loud failure. Tagged apart (``didww_connector_kamailio``, not
``standard``): a plain ``odoo-bin --test-enable`` leaves it out, ``dev/didww.py test`` runs it.
"""

import contextlib
import html
import json
import logging
import os
import time
import unittest

from odoo import SUPERUSER_ID, api
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import ChromeBrowser

from .fake_didww import FakeDidww
from .kamailio_server import KamailioServer, require_browser

_logger = logging.getLogger(__name__)

WSS_PORT = int(os.environ.get("DIDWW_TEST_KAMAILIO_PORT", "8441"))
MEDIA_SWITCHES = [
    "--use-fake-ui-for-media-stream",  # grant the microphone without a prompt
    "--use-fake-device-for-media-stream",  # a synthetic microphone
    "--allow-loopback-in-peer-connection",  # ICE candidates on 127.0.0.1 (else no INVITE leaves)
    "--ignore-certificate-errors",  # Kamailio's throwaway certificate
    "--disable-popup-blocking",  # the tests open more tabs of a browser with window.open
    # each of them in its own window, rendering and running its timers as a tab in front would
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]
# a page of the server without Odoo's web client, from which a test opens the tabs it drives
BLANK_PATH = "/web/health"


class Tab:
    """A tab opened by ``window.open`` from a browser's page (``window.tabs[index]``): the test
    drives it through that page, the same origin giving it the tab's document."""

    def __init__(self, browser, index):
        self.browser, self.index = browser, index
        self.login = f"{browser.login} (tab {index + 1})"


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
        # 12125550142: a caller from outside, for the missed-call rescue
        cls.kamailio = KamailioServer({"1001": "alice-sip-pw", "1002": "bob-sip-pw", "12125550142": "carol-sip-pw"},
                                      WSS_PORT)
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
        # a number the PBX does not know (Kamailio answers 404)
        cls.nobody_desk = cls.env["res.partner"].create({"name": "Nobody's Desk", "phone": "1009"})
        cls.carol = new_test_user(cls.env, login="sp_carol", password="sp_carol_pw1", name="Carol Caller",
                                  groups="base.group_user,base.group_partner_manager")
        cls.carol.write({"didww_voip_provider_id": cls.provider.id, "didww_voip_username": "12125550142",
                         "didww_voip_secret": "carol-sip-pw"})
        cls.customer = cls.env["res.partner"].create({"name": "Ursula Customer", "mobile": "+1 212-555-0142"})

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
        for secret in ("alice-sip-pw", "bob-sip-pw", "carol-sip-pw"):
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
        for browser, (_login, _password, path) in zip(browsers, logins, strict=True):
            if path != BLANK_PATH:
                self.wait_for(browser, "document.querySelector('.o_didww_softphone') !== null",
                              "the softphone in the top bar")
        return browsers

    def open_tabs(self, browser, count):
        """``count`` tabs of the web client in ``browser`` (opened on BLANK_PATH)."""
        self.assertTrue(self.js(browser, f"(window.tabs = Array.from({{length: {count}}}, "
                                         "(_, i) => window.open('/odoo', `tab${i}`, 'popup,width=1024,height=768')))"
                                         ".every(Boolean)",
                                gesture=True))
        tabs = [Tab(browser, index) for index in range(count)]
        for tab in tabs:
            self.wait_for(tab, "document.querySelector('.o_didww_softphone') !== null", "the softphone in the top bar",
                          timeout=90)
        return tabs

    def open_browser(self, login, password, path="/odoo"):
        return self.open_browsers((login, password, path))[0]

    def js(self, browser, expression, gesture=False):
        if isinstance(browser, Tab):  # evaluated in the tab's window, through the page that opened it
            expression = (f"((window, document, odoo) => ({expression}))(window.tabs[{browser.index}], "
                          f"window.tabs[{browser.index}].document, window.tabs[{browser.index}].odoo)")
            browser = browser.browser
        answer = browser._websocket_request("Runtime.evaluate", params={
            "expression": expression, "returnByValue": True, "awaitPromise": True, "userGesture": gesture})
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

    def notifications(self, browser):
        return self.js(browser, "[...document.querySelectorAll('.o_notification')].map(n => n.textContent.trim())")

    def wait_notification(self, browser, text, timeout=30):
        self.wait_for(browser, f"[...document.querySelectorAll('.o_notification')].some("
                               f"n => n.textContent.includes({json.dumps(text)}))",
                      f"a notification saying {text!r}", timeout)

    def dial_pad(self, browser, number):
        self.click(browser, ".o_didww_softphone_toggle")
        self.wait_for(browser, "document.querySelector('.o_didww_softphone_input')", "the dial pad")
        for key in number:
            self.click(browser, f".o_didww_softphone_key[data-key='{key}']")
        self.wait_for(browser, f"document.querySelector('.o_didww_softphone_input').value === {json.dumps(number)} "
                               "&& !document.querySelector('.o_didww_softphone_dial').disabled", "the number typed")
        self.click(browser, ".o_didww_softphone_dial")

    def read_calls(self, users, until=lambda calls: True, timeout=30):
        """{user id: [call values, newest first]} once ``until`` holds (or the timeout passed): the
        browsers still talk to the server, so read through a cursor of our own."""
        deadline = time.monotonic() + timeout
        while True:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                calls = {user.id: [] for user in users}
                for call in env["didww.call"].search([("user_id", "in", users.ids)]):
                    calls[call.user_id.id].append({
                        "direction": call.direction, "number": call.number, "partner_id": call.partner_id.id,
                        "state": call.state, "end_cause": call.end_cause, "failure_reason": call.failure_reason,
                        "duration": call.duration, "id": call.id, "transfer_target": call.transfer_target,
                        "consult_for_id": call.consult_for_id.id, "replaced_call_id": call.replaced_call_id.id})
            if until(calls) or time.monotonic() > deadline:
                return calls
            time.sleep(0.2)

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
            self.wait_for_audio(browser, f"{browser.login} receives no audio")
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

    def test_a_link_to_a_number_the_pbx_does_not_know_fails_with_a_notification(self):
        alice = self.open_browser("sp_alice", "sp_alice_pw1", f"/odoo/contacts/{self.nobody_desk.id}")
        self.wait_state(alice, status="ready")
        self.wait_for(alice, "document.querySelector(\"div[name='phone'] a.o_phone_form_link\")", "the Call link")
        self.click(alice, "div[name='phone'] a.o_phone_form_link")
        self.wait_notification(alice, "does not exist or cannot be reached")
        self.assertIn("Call failed", " ".join(self.notifications(alice)))
        self.assertFalse(self.js(alice, "Boolean(document.querySelector('.o_didww_softphone_panel'))"))
        calls = self.read_calls(self.alice, lambda calls: calls[self.alice.id]
                                and calls[self.alice.id][0]["state"] == "failed")
        self.assertEqual({k: calls[self.alice.id][0][k] for k in ("state", "end_cause", "partner_id")},
                         {"state": "failed", "end_cause": "failed", "partner_id": self.nobody_desk.id})
        self.assertIn("does not exist", calls[self.alice.id][0]["failure_reason"])
        self.assert_no_browser_error(alice)

    def test_a_dial_pad_call_shows_the_contact_and_a_decline_is_told(self):
        alice, bob = self.open_browsers(("sp_alice", "sp_alice_pw1", "/odoo"), ("sp_bob", "sp_bob_pw12", "/odoo"))
        self.wait_state(alice, status="ready")
        self.wait_state(bob, status="ready")
        self.dial_pad(alice, "1002")
        self.wait_state(bob, call="ringing")
        self.wait_for(alice, "document.querySelector('.o_didww_softphone_name').textContent.trim() === \"Bob's Desk\"",
                      "the contact's name on the dial-pad call")
        self.assertEqual(self.softphone(alice)["call"], "calling")
        self.wait_state(bob, badge="ringing")
        self.click(bob, ".o_didww_softphone_decline")
        self.wait_state(alice, call="")
        # the panel is open on Alice's side (she opened it to dial): the outcome shows there
        self.wait_for(alice, "document.querySelector('.o_didww_softphone_last')?.textContent.includes("
                             "\"Bob's Desk declined the call\")", "the decline in the panel")
        calls = self.read_calls(self.alice, lambda calls: calls[self.alice.id]
                                and calls[self.alice.id][0]["state"] == "declined")
        self.assertEqual(calls[self.alice.id][0]["partner_id"], self.bob_desk.id)
        self.assert_no_browser_error(alice, bob)

    def test_the_callee_browser_dies_mid_call_the_caller_side_ends_dropped(self):
        alice, bob = self.open_browsers(("sp_alice", "sp_alice_pw1", f"/odoo/contacts/{self.bob_desk.id}"),
                                        ("sp_bob", "sp_bob_pw12", "/odoo"))
        self.wait_state(alice, status="ready")
        self.wait_state(bob, status="ready")
        self.wait_for(alice, "document.querySelector(\"div[name='phone'] a.o_phone_form_link\")", "the Call link")
        self.click(alice, "div[name='phone'] a.o_phone_form_link")
        self.wait_state(bob, call="ringing")
        self.click(bob, ".o_didww_softphone_answer")
        self.wait_state(alice, call="active")
        self.wait_state(bob, call="active")
        self.read_calls(self.alice | self.bob, lambda calls: all(
            c and c[0]["state"] == "in_progress" for c in calls.values()))
        killed = time.monotonic()
        bob.chrome.kill()  # a crash: no BYE, no unload
        bob.chrome.wait()
        # its DevTools socket died with it: stop() (at cleanup) must not talk to it (18.0 as first
        # released does not catch that error)
        # (late 18.0's reader thread may have dropped the socket already, when it saw it die)
        if (socket_to_chrome := getattr(bob, "ws", None)) is not None:
            socket_to_chrome.close()
            with contextlib.suppress(AttributeError):
                del bob.ws
        self.wait_state(alice, call="", timeout=60)
        _logger.info("softphone: the caller's call ended %.1f s after the callee's browser died",
                     time.monotonic() - killed)
        self.assertEqual(self.js(alice, "document.querySelector('.o_didww_softphone').dataset.badge"), "ready")
        calls = self.read_calls(self.alice | self.bob, lambda calls: calls[self.alice.id][0]["state"] == "dropped")
        self.assertEqual({k: calls[self.alice.id][0][k] for k in ("state", "end_cause")},
                         {"state": "dropped", "end_cause": "dropped"})
        # the vanished side: left in progress, closed by the cron once its heartbeat is old
        bob_call = calls[self.bob.id][0]
        self.assertEqual(bob_call["state"], "in_progress")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["didww.call"].browse(bob_call["id"]).write({"last_seen": "2000-01-01 00:00:00"})
            env["didww.call"]._cron_close_interrupted()
        calls = self.read_calls(self.bob)
        self.assertEqual((calls[self.bob.id][0]["state"], calls[self.bob.id][0]["end_cause"]),
                         ("interrupted", "interrupted"))
        self.assert_no_browser_error(alice)

    def test_three_tabs_of_one_user_are_one_registration_every_tab_handles_the_call(self):
        # Alice's browsers of earlier tests may still be registered (closed without unregistering)
        before = set(self.kamailio.contacts("1001"))
        home, bob = self.open_browsers(("sp_alice", "sp_alice_pw1", BLANK_PATH), ("sp_bob", "sp_bob_pw12", "/odoo"))
        tabs = self.open_tabs(home, 3)
        self.wait_state(bob, status="ready")
        for tab in tabs:
            self.wait_state(tab, status="ready")
        roles = [self.js(tab, "document.querySelector('.o_didww_softphone').dataset.tab") for tab in tabs]
        self.assertEqual(sorted(roles), ["follower", "follower", "leader"])
        self.assertEqual(len(set(self.kamailio.contacts("1001")) - before), 1, "one registration for three tabs")
        leader = tabs[roles.index("leader")]
        followers = [tab for tab in tabs if tab is not leader]

        self.dial_pad(bob, "1001")
        for tab in tabs:
            self.wait_state(tab, call="ringing")
        self.click(followers[0], ".o_didww_softphone_answer")
        for tab in tabs:
            self.wait_state(tab, call="active")
        self.wait_state(bob, call="active")
        self.wait_for_audio(leader, "the tab holding the call receives no audio")
        playing = [self.js(tab, "Boolean(odoo.__WOWL_DEBUG__.root.env.services.didww_softphone.audio?.srcObject)")
                   for tab in tabs]
        self.assertEqual(playing.count(True), 1, "the call's audio plays in one tab only")
        self.click(followers[1], ".o_didww_softphone_mute")
        for tab in tabs:
            self.wait_for(tab, "document.querySelector('.o_didww_softphone_mute')?.getAttribute('aria-pressed') "
                               "=== 'true'",
                          "the call muted in every tab")
        self.click(followers[1], ".o_didww_softphone_hangup")
        self.wait_state(bob, call="")
        for tab in tabs:
            self.wait_state(tab, call="")

        # the tab holding the registration closes: another one takes over
        closed = time.monotonic()
        self.js(home, f"window.tabs[{leader.index}].close()")
        self.wait_for(home, " || ".join(
            f"(window.tabs[{tab.index}].document.querySelector('.o_didww_softphone')?.dataset.tab === 'leader' && "
            f"window.tabs[{tab.index}].document.querySelector('.o_didww_softphone').dataset.status === 'ready')"
            for tab in followers), "another tab registered", timeout=30)
        _logger.info("softphone: another tab registered %.1f s after the registered tab closed",
                     time.monotonic() - closed)
        self.assertEqual(len(set(self.kamailio.contacts("1001")) - before), 1,
                         "the new tab's registration replaced the old one")
        self.assert_no_browser_error(home, bob)

    def test_a_missed_call_gives_a_call_back_activity_and_texts_the_caller(self):
        fake = FakeDidww().start()
        self.addCleanup(fake.stop)
        self.env.company.write({
            "country_id": self.env.ref("base.us").id, "didww_sms_active": True,
            "didww_sms_username": fake.username, "didww_sms_password": fake.password,
            "didww_sms_api_url": fake.url, "didww_missed_call_sms": True})
        self.env["didww.sms.number"].create({"number": "+19179056077", "user_ids": [(6, 0, self.alice.ids)]})
        alice, carol = self.open_browsers(("sp_alice", "sp_alice_pw1", "/odoo"), ("sp_carol", "sp_carol_pw1", "/odoo"))
        self.wait_state(alice, status="ready")
        self.wait_state(carol, status="ready")
        self.dial_pad(carol, "1001")
        self.wait_state(alice, call="ringing")
        self.wait_for(alice, "document.querySelector('.o_didww_softphone_name').textContent.trim() "
                             "=== 'Ursula Customer'",
                      "the caller's contact")
        self.click(carol, ".o_didww_softphone_hangup")  # Carol gives up before Alice answers
        self.wait_state(alice, call="")
        self.wait_notification(alice, "missed call from Ursula Customer")
        calls = self.read_calls(self.alice, lambda calls: calls[self.alice.id]
                                and calls[self.alice.id][0]["state"] == "missed")
        self.assertEqual(calls[self.alice.id][0]["partner_id"], self.customer.id)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            activities = env["res.partner"].browse(self.customer.id).activity_ids
            self.assertEqual([(a.summary, a.user_id.id) for a in activities], [("Call back", self.alice.id)])
            env["sms.sms"]._process_queue()
        sent = [r["json"]["data"]["attributes"] for r in fake.requests if r["path"] == "/outbound_messages"]
        self.assertEqual([(m["source"], m["destination"]) for m in sent], [("19179056077", "12125550142")])
        self.assertIn("Sorry we missed your call", sent[0]["content"])
        self.assert_no_browser_error(alice, carol)

    def transfer_box_to_bob(self):
        """Carol (a caller from outside) calls Alice, who answers and types Bob's extension (1002)
        in the transfer box: the three browsers, Alice and Carol talking."""
        alice, bob, carol = self.open_browsers(("sp_alice", "sp_alice_pw1", "/odoo"),
                                               ("sp_bob", "sp_bob_pw12", "/odoo"),
                                               ("sp_carol", "sp_carol_pw1", "/odoo"))
        for browser in (alice, bob, carol):
            self.wait_state(browser, status="ready")
        self.dial_pad(carol, "1001")
        self.wait_state(alice, call="ringing")
        self.click(alice, ".o_didww_softphone_answer")
        self.wait_state(alice, call="active")
        self.wait_state(carol, call="active")
        self.click(alice, ".o_didww_softphone_transfer")
        self.wait_for(alice, "document.querySelector('.o_didww_softphone_transfer_input')", "the transfer box")
        self.js(alice, """(() => {
            const input = document.querySelector('.o_didww_softphone_transfer_input');
            input.value = '1002';
            input.dispatchEvent(new Event('input', {bubbles: true}));
            return true;
        })()""")
        return alice, bob, carol

    def test_blind_transfer_three_browsers_the_caller_ends_up_talking_to_the_colleague(self):
        alice, bob, carol = self.transfer_box_to_bob()
        self.wait_for(alice, "!document.querySelector('.o_didww_softphone_transfer_go').disabled", "the number typed")
        self.click(alice, ".o_didww_softphone_transfer_go")
        self.wait_state(alice, call="")
        self.wait_state(bob, call="ringing")
        self.click(bob, ".o_didww_softphone_answer")
        self.wait_state(bob, call="active")
        self.wait_state(carol, call="active")
        self.wait_for(carol, "document.querySelector('.o_didww_softphone_name').textContent.trim() === \"Bob's Desk\"",
                      "the colleague's contact on the caller's new call")
        self.wait_for_audio(bob, "the colleague receives no audio from the caller")
        self.click(bob, ".o_didww_softphone_hangup")
        self.wait_state(carol, call="")
        users = self.alice | self.bob | self.carol
        calls = self.read_calls(users, lambda calls: len(calls[self.carol.id]) == 2 and all(
            c["state"] == "done" for cs in calls.values() for c in cs))
        alice_call, = calls[self.alice.id]
        self.assertEqual({k: alice_call[k] for k in ("direction", "number", "state", "end_cause", "partner_id")},
                         {"direction": "incoming", "number": "+12125550142", "state": "done",
                          "end_cause": "transferred", "partner_id": self.customer.id})
        carol_second, carol_first = calls[self.carol.id]
        self.assertEqual((carol_first["number"], carol_first["end_cause"]), ("1001", "transferred_by_them"))
        self.assertEqual((carol_second["number"], carol_second["state"], carol_second["partner_id"]),
                         ("1002", "done", self.bob_desk.id))
        bob_call, = calls[self.bob.id]
        self.assertEqual((bob_call["direction"], bob_call["state"], bob_call["end_cause"]),
                         ("incoming", "done", "local"))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            note = env["res.partner"].browse(self.customer.id).message_ids.filtered(
                lambda m: "transferred the call to 1002" in (m.body or ""))
            self.assertTrue(note, "the caller's chatter tells that Alice passed the call to 1002")
        self.assert_no_browser_error(alice, bob, carol)

    def start_asking_first(self):
        """Carol (a caller from outside) calls Alice, who answers, then asks Bob (1002) first: the
        three browsers, with Alice talking to Bob and Carol on hold."""
        alice, bob, carol = self.transfer_box_to_bob()
        self.wait_for(alice, "!document.querySelector('.o_didww_softphone_ask_first').disabled", "the number typed")
        self.click(alice, ".o_didww_softphone_ask_first")
        self.wait_state(alice, consult="calling")
        self.wait_for(alice, "document.querySelector('.o_didww_softphone_call_status').textContent.trim() "
                             "=== 'On hold'", "the caller on hold")
        self.wait_state(bob, call="ringing")
        self.wait_for(bob, "document.querySelector('.o_didww_softphone_name').textContent.trim() === \"Alice's Desk\"",
                      "the colleague's name on the consultation ringing")
        self.click(bob, ".o_didww_softphone_answer")
        self.wait_state(bob, call="active")
        self.wait_state(alice, consult="active", badge="in_call")
        self.assertEqual(self.softphone(carol)["call"], "active", "the caller waits on hold")
        self.wait_for_audio(bob, "the colleague hears nobody asking them first")
        return alice, bob, carol

    def wait_for_audio(self, browser, failure, packets=10):
        deadline = time.monotonic() + 10
        while self.audio_packets_received(browser) < packets:
            self.assertLess(time.monotonic(), deadline, failure)
            time.sleep(0.2)

    def test_attended_transfer_three_browsers_ask_first_then_complete(self):
        alice, bob, carol = self.start_asking_first()
        self.click(alice, ".o_didww_softphone_complete")
        self.wait_state(alice, call="", consult="")
        self.wait_for(bob, "document.querySelector('.o_didww_softphone_name').textContent.trim() === 'Ursula Customer'",
                      "the caller on the colleague's softphone, in place of the consultation")
        self.wait_state(bob, call="active")
        self.wait_for(carol, "document.querySelector('.o_didww_softphone_name').textContent.trim() === \"Bob's Desk\"",
                      "the colleague on the caller's softphone")
        self.wait_state(carol, call="active")
        self.wait_for_audio(bob, "the colleague receives no audio from the caller")
        self.wait_for_audio(carol, "the caller receives no audio from the colleague")
        self.wait_for(bob, "document.querySelector('.o_didww_softphone_timer').textContent.trim() !== '00:00'",
                      "the transferred call's timer to run", timeout=10)
        self.click(bob, ".o_didww_softphone_hangup")
        self.wait_state(carol, call="")
        users = self.alice | self.bob | self.carol
        calls = self.read_calls(users, lambda calls: all(len(c) == 2 for c in calls.values()) and all(
            c["state"] == "done" for cs in calls.values() for c in cs))
        keys = ("direction", "number", "state", "end_cause", "partner_id", "transfer_target")
        alice_consult, alice_call = calls[self.alice.id]
        self.assertEqual({k: alice_call[k] for k in keys},
                         {"direction": "incoming", "number": "+12125550142", "state": "done",
                          "end_cause": "transferred", "partner_id": self.customer.id, "transfer_target": "1002"})
        self.assertEqual({k: alice_consult[k] for k in (*keys, "consult_for_id")},
                         {"direction": "outgoing", "number": "1002", "state": "done", "end_cause": "transferred",
                          "partner_id": self.bob_desk.id, "transfer_target": "+12125550142",
                          "consult_for_id": alice_call["id"]})
        bob_call, bob_consult = calls[self.bob.id]
        self.assertEqual({k: bob_consult[k] for k in ("direction", "number", "state", "end_cause", "partner_id")},
                         {"direction": "incoming", "number": "1001", "state": "done", "end_cause": "replaced",
                          "partner_id": self.alice_desk.id})
        self.assertEqual({k: bob_call[k] for k in ("direction", "number", "state", "end_cause", "partner_id",
                                                     "replaced_call_id")},
                         {"direction": "incoming", "number": "+12125550142", "state": "done", "end_cause": "local",
                          "partner_id": self.customer.id, "replaced_call_id": bob_consult["id"]})
        self.assertGreaterEqual(bob_call["duration"], 1)
        carol_second, carol_first = calls[self.carol.id]
        self.assertEqual((carol_first["number"], carol_first["end_cause"], carol_first["transfer_target"]),
                         ("1001", "transferred_by_them", "1002"))
        self.assertEqual((carol_second["number"], carol_second["state"], carol_second["end_cause"]),
                         ("1002", "done", "remote"))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            customer_notes = [html.unescape(body) for body in
                              env["res.partner"].browse(self.customer.id).message_ids.mapped("body")]
            desk_notes = [html.unescape(body) for body in
                          env["res.partner"].browse(self.bob_desk.id).message_ids.mapped("body")]
        self.assertTrue([n for n in customer_notes if "Alice Agent talked to them for" in n
                         and "asked Bob's Desk (1002) first, then transferred the call to them" in n],
                        customer_notes)
        self.assertTrue([n for n in customer_notes if "transferred to Bob Agent by Alice's Desk (1001) after "
                         "asking first" in n], customer_notes)
        self.assertTrue([n for n in desk_notes if "Alice Agent asked 1002 first about the call with Ursula Customer "
                         "(+12125550142)" in n and "then transferred that call to them" in n], desk_notes)
        self.assert_no_browser_error(alice, bob, carol)

    def test_attended_transfer_three_browsers_ask_first_then_back_to_the_caller(self):
        alice, bob, carol = self.start_asking_first()
        self.click(alice, ".o_didww_softphone_back")
        self.wait_state(bob, call="")
        self.wait_state(alice, consult="", call="active", badge="in_call")
        self.wait_for(alice, "document.querySelector('.o_didww_softphone_name').textContent.trim() === "
                             "'Ursula Customer'", "the caller back in the panel")
        # the caller's sound again: more packets arrive on the caller's call, off hold
        before = self.audio_packets_received(alice)
        self.wait_for_audio(alice, "no sound from the caller after going back", packets=before + 10)
        self.click(alice, ".o_didww_softphone_hangup")
        self.wait_state(carol, call="")
        calls = self.read_calls(self.alice | self.bob, lambda calls: all(
            len(c) == 2 and all(x["state"] == "done" for x in c) for c in (calls[self.alice.id],))
            and calls[self.bob.id] and calls[self.bob.id][0]["state"] == "done")
        alice_consult, alice_call = calls[self.alice.id]
        self.assertEqual((alice_call["end_cause"], alice_consult["end_cause"], alice_consult["consult_for_id"]),
                         ("local", "local", alice_call["id"]))
        self.assertEqual(calls[self.bob.id][0]["end_cause"], "remote")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            desk_notes = env["res.partner"].browse(self.bob_desk.id).message_ids.mapped("body")
        self.assertTrue([n for n in desk_notes if "then went back to the caller" in n], desk_notes)
        self.assert_no_browser_error(alice, bob, carol)
