from odoo import api, fields, models
from odoo.addons.base.models.res_users import USER_PRIVATE_FIELDS

# masked ('********') for everyone without write access on users, except the user themself
USER_PRIVATE_FIELDS.append("didww_voip_secret")

VOIP_SELF_FIELDS = ["didww_voip_provider_id", "didww_voip_username", "didww_voip_secret"]


class ResUsers(models.Model):
    _inherit = "res.users"

    didww_voip_provider_id = fields.Many2one(
        "didww.voip.provider", "VoIP Provider", groups="base.group_user", ondelete="set null",
        default=lambda self: self._didww_only_voip_provider())
    didww_voip_username = fields.Char("VoIP Username", groups="base.group_user", copy=False)
    didww_voip_secret = fields.Char("VoIP Secret", groups="base.group_user", copy=False)
    didww_sms_number_ids = fields.Many2many(
        "didww.sms.number", "didww_sms_number_res_users_rel", "user_id", "number_id",
        "DIDWW SMS numbers", groups="base.group_user")

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + VOIP_SELF_FIELDS

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + VOIP_SELF_FIELDS

    @api.model
    def _didww_only_voip_provider(self):
        """The VoIP provider of the current company when there is exactly one, else nothing."""
        # sudo: also evaluated when a signup (public user) creates a user
        providers = self.env["didww.voip.provider"].sudo().search(
            [("company_id", "in", [False, self.env.company.id])], limit=2)
        return providers.id if len(providers) == 1 else False

    @api.model
    def _didww_preselect_voip_provider(self):
        """On install: internal users without a provider get the only one (My Preferences shows it)."""
        provider_id = self._didww_only_voip_provider()
        if provider_id:
            self.sudo().search([("share", "=", False), ("didww_voip_provider_id", "=", False)]).write(
                {"didww_voip_provider_id": provider_id})

    @api.model
    def _didww_softphone_config(self):
        """The logged-in user's own softphone configuration, for a SIP client."""
        user_sudo = self.env.user.sudo()  # sudo: the user reads their own secret
        provider = user_sudo.didww_voip_provider_id
        return {
            "provider": provider.name or False,
            "websocket_url": provider.ws_server or False,
            "pbx_server": provider.pbx_server or False,
            "username": user_sudo.didww_voip_username or False,
            "secret": user_sudo.didww_voip_secret or False,
            "uri": f"sip:{user_sudo.didww_voip_username}@{provider.pbx_server}"
            if provider and user_sudo.didww_voip_username else False,
        }
