from datetime import timedelta

from markupsafe import Markup

from odoo import SUPERUSER_ID, api, fields, models
from odoo.tools import html2plaintext

# failures only an administrator can fix (trunk credentials or allowed IPs, a sending number the
# trunk does not allow, a blocked account, no balance): sending again as it is cannot succeed
ADMIN_FAILURE_TYPES = ("sms_acc", "sms_credit")
ALERT_EVERY = timedelta(hours=1)


class DidwwSmsAdminAlert(models.AbstractModel):
    """Failures of a company's DIDWW set-up: the salesperson is told an administrator was notified,
    the administrators get one activity saying what to fix and where (not one per SMS)."""

    _name = "didww.sms.admin.alert"
    _description = "DIDWW SMS: administrators told of a broken set-up"

    @api.model
    def _is_admin_failure(self, failure_type):
        return failure_type in ADMIN_FAILURE_TYPES

    @api.model
    def _user_reason(self):
        """What a salesperson reads instead of the administrator's reason."""
        return self.env._("Sending is not set up correctly; your administrator has been notified.")

    @api.model
    def _alert(self, company, reason):
        """Give ``company``'s administrators an activity saying ``reason`` (what to fix and where),
        at most once an hour per company, and not again while one with the same reason is open."""
        if not company or not reason:
            return self.env["mail.activity"]
        activity_type = self.env.ref("didww_connector.mail_activity_type_didww_sms_setup", raise_if_not_found=False)
        partner = company.partner_id
        # sudo: a salesperson's SMS (or the public webhook) alerts administrators they cannot read
        Activity = self.env["mail.activity"].sudo()
        open_alerts = Activity.search([
            ("res_model", "=", "res.partner"), ("res_id", "=", partner.id),
            ("activity_type_id", "=", activity_type.id if activity_type else False),
        ])
        recent = fields.Datetime.now() - ALERT_EVERY
        words = " ".join(reason.split())
        if any(alert.create_date >= recent or words in " ".join(html2plaintext(alert.note or "").split())
               for alert in open_alerts):
            return Activity.browse()
        admins = self.env["res.users"].sudo().search([
            ("groups_id", "in", self.env.ref("base.group_system").id), ("share", "=", False),
            ("company_ids", "in", company.id), ("id", "!=", SUPERUSER_ID)])
        if not admins:
            return Activity.browse()
        model = self.env["ir.model"].sudo()._get_id("res.partner")
        return Activity.create([{
            "res_model_id": model,
            "res_id": partner.id,
            "activity_type_id": activity_type.id if activity_type else False,
            "summary": self.env._("SMS cannot be sent through DIDWW (%(company)s)", company=company.name),
            "note": self._alert_note(reason),
            "user_id": admin.id,
            "date_deadline": fields.Date.context_today(self),
        } for admin in admins])

    @api.model
    def _alert_note(self, reason):
        return Markup(
            "<p>{reason}</p><p>{where} <a href=\"/odoo/settings#didww_sms\">{settings}</a>.</p><p>{after}</p>"
        ).format(
            reason=reason,
            where=self.env._("Salespeople's SMS fail until this is fixed: DIDWW settings are in"),
            settings=self.env._("Settings > General Settings > Integrations > DIDWW"),
            after=self.env._(
                "Then send the failed SMS again from Settings > Technical > SMS (developer mode): "
                "filter the failed ones, Retry, then Send Now."),
        )
