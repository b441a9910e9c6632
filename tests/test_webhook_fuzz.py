import json

from odoo.tests import tagged

from ..tools.didww_webhook import parse_event
from .common import DidwwHttpCase
from .fuzz_webhook import requests_for


@tagged("post_install", "-at_install", "didww_connector")
class TestWebhookFuzz(DidwwHttpCase):
    """A short run of the fuzz suite (``dev/fuzz.py`` sends 10,000) through Odoo's test server."""

    def test_generated_requests_get_no_5xx_store_whole_events_and_leave_odoo_healthy(self):
        Event = self.env["didww.webhook.event"]
        before = Event.search([])
        stored, answers = set(), {}
        for index, fuzz in enumerate(requests_for(300, seed=11, known=("37041123456", "19179056077"))):
            url = self.base_url() + self.webhook_url() + (f"?{fuzz.query}" if fuzz.query else "")
            headers = {"Content-Type": fuzz.content_type} if fuzz.content_type else {}
            response = self.opener.request(fuzz.method, url, data=fuzz.body, headers=headers, timeout=60)
            with self.subTest(index=index, family=fuzz.family, body=fuzz.body[:200]):
                self.assertLess(response.status_code, 500, response.text[:500])
                answer = response.json()
                answers[response.status_code] = answers.get(response.status_code, 0) + 1
                if response.status_code in (200, 404) and answer.get("event"):
                    stored.add(answer["event"])
                else:
                    self.assertIn("error", answer)
        self.assertGreater(answers.get(200, 0), 20, answers)
        self.assertGreater(sum(count for status, count in answers.items() if status >= 400), 100, answers)
        new_events = Event.search([]) - before
        self.assertEqual(set(new_events.ids), stored, "every stored event was answered with its id, and only those")
        for event in new_events:
            parse_event(json.loads(event.payload))  # whole: the stored delivery parses again
        # everything stored is processed: posted, or kept for a number that does not exist
        while self.process_events():
            pass
        unknown = new_events.filtered(lambda event: event.state == "error")
        self.assertEqual(set(new_events.mapped("state")) - {"done", "error", "pending"}, set())
        for event in unknown:
            self.assertTrue(event.result.startswith("unknown DIDWW number"), event.result)
        for event in new_events.filtered(lambda event: event.state == "pending"):
            self.assertEqual(event.kind, "status", "only statuses of unknown SMS wait")
        # healthy afterwards: a normal delivery still lands
        response = self.post_json({"to": "37041123456", "from": "37041654321", "text": "still fine", "uuid": "ok-1"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("still fine", self.partner.message_ids[0].body)
