"""Two companies texting through the fake DIDWW, customers texting keywords to them, and what the
fake received: the ground the consent, HELP and quiet-hours tests stand on."""

import itertools

from .common import DidwwMixin

_uuids = itertools.count(1)


class ConsentMixin(DidwwMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({
            "name": "B Corp", "country_id": cls.us.id, "didww_sms_active": True,
            "didww_sms_username": cls.fake.username, "didww_sms_password": cls.fake.password,
            "didww_sms_api_url": cls.fake.url, "didww_sms_rate_limit": 1000, "didww_quiet_scope": "off"})
        cls.number_b = cls.env["didww.sms.number"].create({
            "number": "+13125550100", "company_id": cls.company_b.id, "all_users": True})
        cls.user_sales.write({"company_ids": [(4, cls.company_b.id)]})
        cls.number_us.optout_reply = "A: unsubscribed. Text START to come back."
        cls.number_b.optout_reply = "B: unsubscribed."

    def keyword(self, text, sender="+12125550142", number=None):
        """``sender`` texts ``text`` to ``number`` (the first company's US number by default), routed
        as the webhook's processing routes it."""
        number = number or self.number_us
        params = {"to": number.number.lstrip("+"), "from": sender.lstrip("+"), "text": text,
                  "uuid": f"kw-{next(_uuids)}"}
        event = self.env["didww.webhook.event"].sudo()._store(number.company_id, params).event
        event._process()
        self.assertEqual(event.state, "done", event.result)
        return event

    def consent(self, company, number="+12125550142"):
        return self.env["didww.sms.consent"].sudo().search([("company_id", "=", company.id), ("number", "=", number)])

    def run_queue(self):
        self.env["sms.sms"].sudo()._process_queue()

    def sent(self):
        """``[(source, destination, content)]`` the fake DIDWW accepted, as E.164."""
        return [("+" + s["source"], "+" + s["destination"], s["content"]) for s in self.fake.sent]

    def sent_to(self, number):
        return [content for _source, destination, content in self.sent() if destination == number]
