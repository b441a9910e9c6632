import base64
import json
from contextlib import contextmanager
from urllib.parse import urlsplit

from odoo.addons.sms.tests.common import SMSCase
from odoo.tests import HttpCase, TransactionCase, new_test_user
from odoo.tests.common import BaseCase, _super_send

from .fake_didww import FakeDidww


def b64(text):
    """``text`` as DIDWW's ``data`` field carries it (base64 of its UTF-8)."""
    return base64.b64encode(text.encode()).decode()


class DidwwMixin:
    """A company texting through a fake DIDWW on 127.0.0.1, two numbers and a salesperson."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = FakeDidww().start()
        cls.addClassCleanup(cls.fake.stop)
        cls.us = cls.env.ref("base.us")
        cls.lt = cls.env.ref("base.lt")
        cls.company = cls.env.company
        cls.company.write({
            "country_id": cls.us.id,
            "didww_sms_active": True,
            "didww_sms_username": cls.fake.username,
            "didww_sms_password": cls.fake.password,
            "didww_sms_api_url": cls.fake.url,
            "didww_sms_rate_limit": 1000,
            "didww_sms_max_workers": 4,
            "didww_quiet_scope": "off",  # tests of quiet hours turn them on (whatever the hour the suite runs)
        })
        cls.user_sales = new_test_user(
            cls.env, login="didww_sales", name="Sally Sales", email="sally@example.com",
            groups="base.group_user,sales_team.group_sale_salesman", company_id=cls.company.id,
            notification_type="inbox")
        cls.user_other = new_test_user(
            cls.env, login="didww_other", name="Otto Other", email="otto@example.com",
            groups="base.group_user,sales_team.group_sale_salesman", company_id=cls.company.id,
            notification_type="inbox")
        Number = cls.env["didww.sms.number"]
        cls.number_us = Number.create({
            "number": "917 905 6077", "country_id": cls.us.id, "user_ids": [(6, 0, cls.user_sales.ids)],
            "sequence": 1})
        cls.number_lt = Number.create({
            "number": "+370 41 123456", "user_ids": [(6, 0, cls.user_sales.ids)], "sequence": 2})
        cls.partner = cls.env["res.partner"].create({
            "name": "Ona Customer", "phone": "+370 41 654321", "country_id": cls.lt.id})
        cls.partner_us = cls.env["res.partner"].create({
            "name": "Ursula Customer", "mobile": "(212) 555-0142", "country_id": cls.us.id})

    def setUp(self):
        super().setUp()
        self.fake.reset()

    def outbound_requests(self):
        return [r for r in self.fake.requests if r["path"] == "/outbound_messages"]

    def last_notification(self, record):
        return record.message_ids[:1].notification_ids.filtered(lambda n: n.notification_type == "sms")

    @contextmanager
    def assert_no_didww_request(self):
        before = len(self.outbound_requests())
        yield
        self.assertEqual(len(self.outbound_requests()), before, "nothing should have reached DIDWW")


class DidwwCase(DidwwMixin, TransactionCase):
    pass


class DidwwHttpCase(DidwwMixin, HttpCase):

    def webhook_url(self, company=None, secret=None):
        company = company or self.company
        return f"/didww/webhook/{company.id}/{secret or company.didww_webhook_secret}"

    def post_json(self, payload, url=None, content_type="application/json", method="POST", process=True):
        """Deliver ``payload`` to the webhook, then (``process``) run the processing cron's batch,
        as the cron does right after the request commits."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        response = self.opener.request(method, self.base_url() + (url or self.webhook_url()), data=data,
                                       headers={"Content-Type": content_type}, timeout=30)
        if process:
            self.process_events()
        return response

    def process_events(self):
        """One run of the cron that processes stored webhook events."""
        return self.env["didww.webhook.event"]._cron_process_pending()

    def status_callback(self, message_id, status="Success", code_id=None, kind="outbound_message_callbacks"):
        return {"data": {"type": kind, "id": message_id, "attributes": {
            "time_start": "2026-11-23T07:20:30.45Z", "end_time": "2026-11-23T07:20:31.45Z",
            "destination": "37041654321", "source": "37041123456", "status": status,
            "code_id": code_id, "fragments_sent": 2}}}


class DidwwToolsCase(BaseCase):
    """Plain-Python helpers of tools/ against a fresh fake DIDWW on 127.0.0.1 (no database)."""

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Late 18.0 raises every timeout under 10 s to 10 s during tests; these tests check the
        # client's own timeouts against the fake on 127.0.0.1, so its requests keep them as given
        if urlsplit(r.url).hostname == "127.0.0.1":
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    def setUp(self):
        super().setUp()
        self.fake = FakeDidww().start()
        self.addCleanup(self.fake.stop)


class DidwwSmsCase(DidwwMixin, SMSCase):
    """Odoo's ``SMSCase`` assertions (``assertSMSNotification``, ``assertSMSFailed``...) on SMS sent
    through the fake DIDWW: ``mockSMSGateway()`` keeps track of the SMS created (sent SMS are only
    marked for deletion) and what DIDWW accepted becomes what ``SMSCase`` reads as sent."""

    @contextmanager
    def mockSMSGateway(self, *args, **kwargs):
        with super().mockSMSGateway(*args, **kwargs):
            yield
        self._sms += [{"number": "+" + sent["destination"], "body": sent["content"]} for sent in self.fake.sent]
