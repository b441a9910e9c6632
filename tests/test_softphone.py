import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install", "didww_connector")
class TestSoftphoneCallLog(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.country_id = cls.env.ref("base.us")
        cls.provider = cls.env.ref("didww_connector.didww_voip_provider_didww")
        cls.alice = new_test_user(cls.env, login="spl_alice", password="spl_alice_pw1", name="Alice Agent",
                                  groups="base.group_user,sales_team.group_sale_salesman_all_leads")
        cls.bob = new_test_user(cls.env, login="spl_bob", password="spl_bob_pw12", name="Bob Agent",
                                groups="base.group_user,sales_team.group_sale_salesman_all_leads")
        cls.alice.write({"didww_voip_provider_id": cls.provider.id, "didww_voip_username": "alice100",
                         "didww_voip_secret": "s3cret-alice"})
        cls.lt_partner = cls.env["res.partner"].create({
            "name": "Ona Customer", "phone": "8 41 654321", "country_id": cls.env.ref("base.lt").id})
        cls.us_partner = cls.env["res.partner"].create({"name": "Ursula Customer", "mobile": "+1 212-555-0142"})
        cls.lead = cls.env["crm.lead"].create({"name": "Big deal", "contact_name": "Leo Lead",
                                               "phone": "+44 20 7946 0958"})
        cls.Call = cls.env["didww.call"].with_user(cls.alice)

    def test_outgoing_number_in_e164_with_the_record_country_else_the_company_country(self):
        result = self.Call.didww_outgoing("8 41 654321", res_model="res.partner", res_id=self.lt_partner.id)
        self.assertEqual(result["number"], "+37041654321")
        self.assertEqual(result["name"], "Ona Customer")
        lead_without_country = self.env["crm.lead"].create({"name": "US lead", "phone": "(212) 555-0199"})
        result = self.Call.didww_outgoing("(212) 555-0199", res_model="crm.lead", res_id=lead_without_country.id)
        self.assertEqual(result["number"], "+12125550199")
        call = self.Call.browse(result["id"])
        self.assertRecordValues(call, [{"direction": "outgoing", "state": "calling", "user_id": self.alice.id,
                                        "res_model": "crm.lead", "res_id": lead_without_country.id}])

    def test_an_extension_is_dialled_as_typed(self):
        result = self.Call.didww_outgoing("10 02")
        self.assertEqual(result["number"], "1002")

    def test_nothing_to_dial_is_an_error_not_a_call(self):
        result = self.Call.didww_outgoing("  -- ")
        self.assertIn("no number", result["error"])
        self.assertFalse(self.Call.search([]))

    def test_incoming_call_finds_the_contact_else_the_open_lead(self):
        result = self.Call.didww_incoming("+12125550142")
        self.assertEqual(result["name"], "Ursula Customer")
        self.assertEqual(self.Call.browse(result["id"]).partner_id, self.us_partner)
        result = self.Call.didww_incoming("442079460958")
        self.assertEqual(result["number"], "+442079460958")
        call = self.Call.browse(result["id"])
        self.assertEqual((call.res_model, call.res_id), ("crm.lead", self.lead.id))
        result = self.Call.didww_incoming("+15550000000", display_name="Stranger")
        self.assertEqual(result["name"], "Stranger")
        self.assertFalse(self.Call.browse(result["id"]).partner_id)

    def test_answered_then_hung_up_logs_the_duration_and_a_note_on_the_chatter(self):
        result = self.Call.didww_outgoing("8 41 654321", res_model="res.partner", res_id=self.lt_partner.id)
        call = self.Call.browse(result["id"])
        call.didww_answered()
        call.sudo().answered_at -= timedelta(seconds=65)  # as if answered 65 s ago
        call.didww_ended("done")
        self.assertEqual(call.state, "done")
        self.assertGreaterEqual(call.duration, 65)
        self.assertTrue(call.duration_display.startswith("01:0"), call.duration_display)
        note = self.lt_partner.message_ids[0]
        self.assertIn("Outgoing call to +37041654321 by Alice Agent, 01:0", note.body)
        self.assertEqual(note.subtype_id, self.env.ref("mail.mt_note"))
        call.didww_ended("failed", "late")  # an ended call stays as it ended
        self.assertEqual(call.state, "done")

    def test_missed_busy_and_failed_calls(self):
        missed = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        missed.didww_ended("done")  # never answered: missed, whatever the client says
        self.assertEqual(missed.state, "missed")
        self.assertIn("Missed call from +12125550142", self.us_partner.message_ids[0].body)
        busy = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        busy.didww_ended("busy")
        self.assertEqual((busy.state, busy.duration), ("busy", 0))
        failed = self.Call.browse(self.Call.didww_outgoing("1002")["id"])
        failed.didww_ended("failed", "Microphone access denied")
        self.assertRecordValues(failed, [{"state": "failed", "failure_reason": "Microphone access denied"}])
        weird = self.Call.browse(self.Call.didww_outgoing("1003")["id"])
        weird.didww_ended("exploded")
        self.assertEqual(weird.state, "failed")

    def test_users_see_their_own_calls_and_administrators_all(self):
        mine = self.Call.browse(self.Call.didww_outgoing("1002")["id"])
        bobs = self.env["didww.call"].with_user(self.bob).browse(
            self.env["didww.call"].with_user(self.bob).didww_outgoing("1001")["id"])
        self.assertEqual(self.Call.search([]), mine)
        with self.assertRaises(AccessError):
            bobs.with_user(self.alice).read(["number"])
        with self.assertRaises(AccessError):
            bobs.with_user(self.alice).didww_ended("done")
        with self.assertRaises(AccessError):
            mine.unlink()
        admin = self.env.ref("base.user_admin")
        self.assertEqual(self.env["didww.call"].with_user(admin).search([]), mine | bobs)

    def test_calls_menu_and_list_for_users(self):
        action = self.env.ref("didww_connector.didww_call_action")
        self.assertEqual(action.res_model, "didww.call")
        menu = self.env.ref("didww_connector.didww_call_menu")
        self.assertIn(self.env.ref("didww_connector.group_didww_softphone_user"), menu.groups_id)
        self.assertIn(self.alice, self.env.ref("didww_connector.group_didww_softphone_user").users,
                      "a user with a VoIP provider and username sees the Calls app")
        self.assertTrue(self.env["didww.call"].with_user(self.alice).get_views([(False, "list"), (False, "search")]))

    def test_the_secret_never_travels_in_session_info(self):
        self.authenticate("spl_alice", "spl_alice_pw1")
        page = self.url_open("/odoo").text
        self.assertNotIn("s3cret-alice", page)
        self.assertIn('"didww_softphone": true', page)
        info = self.url_open("/web/session/get_session_info", data=json.dumps({"jsonrpc": "2.0", "params": {}}),
                             headers={"Content-Type": "application/json"}).json()["result"]
        self.assertNotIn("s3cret-alice", json.dumps(info))
        self.authenticate("spl_bob", "spl_bob_pw12")
        self.assertIn('"didww_softphone": false', self.url_open("/odoo").text)

    def test_another_user_session_never_obtains_the_secret(self):
        self.authenticate("spl_bob", "spl_bob_pw12")
        for params in ({}, {"uid": self.alice.id}, {"user_id": self.alice.id}):
            response = self.url_open("/didww/voip/config", data=json.dumps({"jsonrpc": "2.0", "params": params}),
                                     headers={"Content-Type": "application/json"})
            self.assertNotIn("s3cret-alice", response.text)
        # with Alice's uid in the context of a JSON-RPC call
        response = self.url_open("/web/dataset/call_kw/res.users/_didww_softphone_config", data=json.dumps({
            "jsonrpc": "2.0", "params": {"model": "res.users", "method": "_didww_softphone_config", "args": [],
                                         "kwargs": {"context": {"uid": self.alice.id}}}}),
            headers={"Content-Type": "application/json"})
        self.assertNotIn("s3cret-alice", response.text)
        self.assertIn("error", response.json())

    # ------------------------------------------------------------------------------------------
    # end causes, dropped and interrupted calls

    def test_the_end_cause_is_logged_and_told_in_the_note(self):
        call = self.Call.browse(self.Call.didww_outgoing("8 41 654321", res_model="res.partner",
                                                         res_id=self.lt_partner.id)["id"])
        call.didww_answered()
        call.didww_ended("done", end_cause="remote")
        self.assertEqual((call.state, call.end_cause), ("done", "remote"))
        self.assertIn("hung up by the other party", self.lt_partner.message_ids[0].body)
        mine = self.Call.browse(self.Call.didww_outgoing("8 41 654321", res_model="res.partner",
                                                         res_id=self.lt_partner.id)["id"])
        mine.didww_answered()
        mine.didww_ended("done", end_cause="local")
        self.assertIn("hung up by Alice Agent", self.lt_partner.message_ids[0].body)
        odd = self.Call.browse(self.Call.didww_outgoing("1002")["id"])
        odd.didww_ended("busy", end_cause="sideways")  # an unknown cause is no cause, not an error
        self.assertEqual((odd.state, odd.end_cause), ("busy", False))

    def test_a_dropped_call_is_not_done(self):
        call = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        call.didww_answered()
        call.didww_ended("dropped", "the connection to the other party was lost", end_cause="dropped")
        self.assertRecordValues(call, [{"state": "dropped", "end_cause": "dropped",
                                        "failure_reason": "the connection to the other party was lost"}])
        self.assertIn("dropped after", self.us_partner.message_ids[0].body)
        self.assertIn("the connection to the other party was lost", self.us_partner.message_ids[0].body)
        # dropped before the answer: a failed call
        early = self.Call.browse(self.Call.didww_outgoing("1002")["id"])
        early.didww_ended("dropped", "the connection to the phone system was lost")
        self.assertRecordValues(early, [{"state": "failed", "end_cause": "dropped"}])
        # the client cannot claim the server's own cause
        claimed = self.Call.browse(self.Call.didww_outgoing("1003")["id"])
        claimed.didww_ended("interrupted")
        self.assertEqual(claimed.state, "failed")

    def test_calls_of_a_vanished_browser_are_closed_as_interrupted_by_the_cron(self):
        Call = self.env["didww.call"]
        live = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        live.didww_answered()
        stale = self.Call.browse(self.Call.didww_outgoing("1002")["id"])
        stale.didww_answered()
        never_confirmed = self.Call.browse(self.Call.didww_outgoing("1003")["id"])
        ended = self.Call.browse(self.Call.didww_outgoing("1004")["id"])
        ended.didww_ended("busy")
        now = fields.Datetime.now()
        live.didww_alive()
        # the past, as a browser that stopped confirming would leave it
        stale.sudo().write({"answered_at": now - timedelta(minutes=10), "last_seen": now - timedelta(minutes=4)})
        never_confirmed.sudo().write({"start": now - timedelta(minutes=5)})
        ended.sudo().write({"start": now - timedelta(minutes=5)})
        self.assertEqual(Call._cron_close_interrupted(), 2)
        self.assertRecordValues(live | stale | never_confirmed | ended, [
            {"state": "in_progress", "end_cause": False},
            {"state": "interrupted", "end_cause": "interrupted"},
            {"state": "interrupted", "end_cause": "interrupted"},
            {"state": "busy", "end_cause": False},
        ])
        self.assertEqual(stale.duration, 360)  # from the answer to the last sign of life
        self.assertTrue(self.env.ref("didww_connector.ir_cron_didww_call_interrupted").active)

    def test_only_the_owner_confirms_a_live_call(self):
        bobs = self.env["didww.call"].with_user(self.bob).browse(
            self.env["didww.call"].with_user(self.bob).didww_outgoing("1001")["id"])
        with self.assertRaises(AccessError):
            bobs.with_user(self.alice).didww_alive()
        self.assertFalse(bobs.last_seen)
        bobs.didww_alive()
        self.assertTrue(bobs.last_seen)

    # ------------------------------------------------------------------------------------------
    # every number resolved

    def test_a_dial_pad_call_finds_the_contact_and_links_it(self):
        result = self.Call.didww_outgoing("+1 (212) 555-0142")
        self.assertEqual((result["number"], result["name"]), ("+12125550142", "Ursula Customer"))
        call = self.Call.browse(result["id"])
        self.assertRecordValues(call, [{"partner_id": self.us_partner.id, "res_model": "res.partner",
                                        "res_id": self.us_partner.id}])
        call.didww_ended("busy")
        self.assertIn("Call to +12125550142 by Alice Agent", self.us_partner.message_ids[0].body)
        # an open lead with that number, found the same way as an incoming caller's
        result = self.Call.didww_outgoing("+44 20 7946 0958")
        self.assertEqual(result["name"], self.lead.display_name)
        self.assertEqual(self.Call.browse(result["id"]).res_model, "crm.lead")

    def test_a_colleague_extension_shows_the_colleague(self):
        self.bob.write({"didww_voip_provider_id": self.provider.id, "didww_voip_username": "1007"})
        result = self.Call.didww_outgoing("1007")
        self.assertEqual((result["number"], result["name"]), ("1007", "Bob Agent"))
        self.assertEqual(self.Call.browse(result["id"]).partner_id, self.bob.partner_id)
        result = self.Call.didww_incoming("1007")
        self.assertEqual(result["name"], "Bob Agent")
        # nobody with that number: the digits, no contact
        result = self.Call.didww_outgoing("1008")
        self.assertEqual((result["number"], result["name"]), ("1008", False))
        self.assertFalse(self.Call.browse(result["id"]).partner_id)

    # ------------------------------------------------------------------------------------------
    # loaded when needed

    def test_jssip_is_not_in_the_backend_assets_but_in_its_own_bundle(self):
        qweb = self.env["ir.qweb"]
        backend = [asset.url for asset in qweb._get_asset_bundle("web.assets_backend", css=False).javascripts]
        self.assertTrue(any("/didww_connector/static/src/softphone/sip_stack.js" in url for url in backend))
        self.assertFalse([url for url in backend if "jssip" in url.lower()])
        jssip = [asset.url for asset in qweb._get_asset_bundle("didww_connector.assets_jssip", css=False).javascripts]
        self.assertEqual(jssip, ["/didww_connector/static/lib/jssip/jssip.min.js"])
        # what loadBundle asks the server for
        self.authenticate("spl_alice", "spl_alice_pw1")
        response = self.url_open("/web/bundle/didww_connector.assets_jssip")
        self.assertEqual(response.status_code, 200)
        self.assertIn("didww_connector.assets_jssip", response.text)

    def test_a_transfer_is_logged_with_who_talked_to_whom(self):
        call = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        call.didww_answered()
        call.didww_ended("done", end_cause="transferred", transfer_target="1003")
        self.assertRecordValues(call, [{"state": "done", "end_cause": "transferred", "transfer_target": "1003"}])
        self.assertIn("Alice Agent talked to them for 00:0", self.us_partner.message_ids[0].body)
        self.assertIn("then transferred the call to 1003", self.us_partner.message_ids[0].body)
        other = self.Call.browse(self.Call.didww_outgoing("+1 212-555-0142")["id"])
        other.didww_answered()
        other.didww_ended("done", end_cause="remote", transfer_target="1003")  # no transfer: no target
        self.assertFalse(other.transfer_target)

    def test_an_attended_transfer_links_the_calls_and_tells_who_talked_to_whom(self):
        self.bob.write({"didww_voip_provider_id": self.provider.id, "didww_voip_username": "1003",
                        "didww_voip_secret": "s3cret-bob"})
        self.alice.didww_voip_username = "1001"
        caller = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        caller.didww_answered()
        asked = self.Call.didww_outgoing("1003", consult_for=caller.id)
        self.assertEqual(asked["name"], "Bob Agent")
        consult = self.Call.browse(asked["id"])
        self.assertEqual((consult.consult_for_id, caller.consult_ids), (caller, consult))
        consult.didww_answered()
        # the colleague's side: their call with Alice, then the caller's in its place
        BobCall = self.env["didww.call"].with_user(self.bob)
        bob_consult = BobCall.browse(BobCall.didww_incoming("1001")["id"])
        bob_consult.didww_answered()
        bob_consult.didww_ended("done", end_cause="replaced")
        taken = BobCall.browse(BobCall.didww_incoming("+12125550142", replaces=bob_consult.id)["id"])
        self.assertEqual(taken.replaced_call_id, bob_consult)
        taken.didww_answered()
        consult.didww_ended("done", end_cause="transferred", transfer_target="+12125550142")
        caller.didww_ended("done", end_cause="transferred", transfer_target="1003")
        taken.didww_ended("done", end_cause="local")
        notes = self.us_partner.message_ids.mapped("body")
        self.assertIn("Alice Agent talked to them for 00:0", notes[1])
        self.assertIn("asked Bob Agent (1003) first, then transferred the call to them", notes[1])
        self.assertIn("Incoming call from +12125550142 transferred to Bob Agent by Alice Agent (1001) after "
                      "asking first", notes[0])
        consult_note = self.bob.partner_id.message_ids[0].body
        self.assertIn("Alice Agent asked 1003 first about the call with Ursula Customer (+12125550142)", consult_note)
        self.assertIn("then transferred that call to them", consult_note)
        self.assertEqual(bob_consult.end_cause, "replaced")

    def test_asking_first_and_going_back_to_the_caller(self):
        caller = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        caller.didww_answered()
        consult = self.Call.browse(self.Call.didww_outgoing("+1 212-555-0199", consult_for=caller.id)["id"])
        consult.didww_answered()
        consult.didww_ended("done", end_cause="local")
        self.assertRecordValues(consult, [{"state": "done", "end_cause": "local", "consult_for_id": caller.id}])
        caller.didww_ended("done", end_cause="local")
        self.assertIn("Incoming call from +12125550142 answered by Alice Agent",
                      self.us_partner.message_ids[0].body)

    def test_a_consultation_or_a_replaced_call_must_be_the_users_own_live_call(self):
        caller = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        # not answered yet: nothing to ask about
        answer = self.Call.didww_outgoing("1003", consult_for=caller.id)
        self.assertIn("no longer in progress", answer["error"])
        BobCall = self.env["didww.call"].with_user(self.bob)
        bobs = BobCall.browse(BobCall.didww_incoming("+12125550142")["id"])
        with self.assertRaises(AccessError):
            self.Call.didww_outgoing("1003", consult_for=bobs.id)
        with self.assertRaises(AccessError):
            self.Call.didww_incoming("+12125550142", replaces=bobs.id)
        for wrong in ("12", [caller.id], True):
            with self.assertRaises(UserError):
                self.Call.didww_outgoing("1003", consult_for=wrong)
            with self.assertRaises(UserError):
                self.Call.didww_incoming("+12125550142", replaces=wrong)
        # a call deleted since (by an administrator) links nothing
        gone = self.Call.browse(self.Call.didww_incoming("+12125550142")["id"])
        gone_id = gone.id
        gone.sudo().unlink()
        self.assertFalse(self.Call.browse(self.Call.didww_incoming("+12125550142", replaces=gone_id)["id"])
                         .replaced_call_id)
        self.assertEqual(self.Call.search_count([("state", "=", "calling")]), 0, "no call logged for a refusal")
