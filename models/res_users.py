from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessError

VOIP_SELF_FIELDS = ["didww_voip_provider_id", "didww_voip_username", "didww_voip_secret"]


class ResUsers(models.Model):
    _inherit = "res.users"

    # Relational fields: a provider is shared or of one of the user's companies (checked on write,
    # and the softphone ignores any other), which colleagues of those companies read; the numbers
    # are for administrators only (a reader may not be in the company of each number of a user).
    didww_voip_provider_id = fields.Many2one(
        "didww.voip.provider", "VoIP Provider", groups="base.group_user", ondelete="set null",
        default=lambda self: self._didww_only_voip_provider())
    didww_voip_username = fields.Char("VoIP Username", groups="base.group_user", copy=False)
    # Not stored: the secret lives in didww.voip.credential, which only administrators can access
    # and no other model points to. Being computed per request user, the field cannot be searched,
    # sorted or grouped by anyone, and holds a value only for its owner and administrators.
    didww_voip_secret = fields.Char(
        "VoIP Secret", compute="_compute_didww_voip_secret", inverse="_inverse_didww_voip_secret",
        search="_search_didww_voip_secret", groups="base.group_user", copy=False)
    didww_sms_number_ids = fields.Many2many(
        "didww.sms.number", "didww_sms_number_res_users_rel", "user_id", "number_id",
        "DIDWW SMS numbers", groups="base.group_system")

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + VOIP_SELF_FIELDS

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + VOIP_SELF_FIELDS

    def write(self, vals):
        if set(VOIP_SELF_FIELDS) & set(vals) and not self.env.su and not self.env.user._is_internal():
            # the softphone is for internal users: a portal user sets no VoIP field, not even their own
            raise AccessError(self.env._("Only internal users have VoIP settings."))
        if vals.get("didww_voip_provider_id") and not self.env.user._is_system():
            self._didww_check_voip_provider(vals["didww_voip_provider_id"])
        result = super().write(vals)
        if {"didww_voip_provider_id", "didww_voip_username", "groups_id", "company_ids"} & set(vals):
            self._didww_sync_voip_group()
        return result

    @api.model_create_multi
    def create(self, vals_list):
        users = super().create(vals_list)
        # sudo: whoever creates the user (a signup as well), the new user's own settings decide
        users.filtered(lambda user: user.sudo().didww_voip_username)._didww_sync_voip_group()
        return users

    def _didww_has_softphone(self):
        """Whether this user has a softphone: an internal user with a VoIP username and a provider
        they may use (as :meth:`_didww_softphone_config` hands out)."""
        self.ensure_one()
        user_sudo = self.sudo()  # sudo: the provider's company decides, whoever may read it
        provider = user_sudo.didww_voip_provider_id
        return bool(user_sudo._is_internal() and user_sudo.didww_voip_username and provider
                    and user_sudo._didww_may_use_provider(provider))

    def _didww_sync_voip_group(self):
        """Keep the group that shows the Calls menu to the users with a softphone."""
        group = self.env.ref("didww_connector.group_didww_softphone_user", raise_if_not_found=False)
        if not group:
            return  # the group's data is not loaded yet (install)
        users = self.with_context(active_test=False)
        with_phone = users.filtered(lambda user: user._didww_has_softphone())
        # sudo: the group only shows the Calls menu and follows the user's own VoIP settings
        group_sudo = group.sudo()
        commands = [(4, user.id) for user in with_phone - group_sudo.users] + \
            [(3, user.id) for user in (users - with_phone) & group_sudo.users]
        if commands:
            group_sudo.write({"users": commands})

    @api.model
    def _didww_sync_voip_group_all(self):
        """On install and update: the users who already have a softphone get the Calls menu."""
        # sudo: run from the module's data, for every user
        self.sudo().with_context(active_test=False).search([("share", "=", False)])._didww_sync_voip_group()

    def _didww_check_voip_provider(self, provider_id):
        """Refuse a provider of a company the users are not in (a user choosing their own provider
        would otherwise reach another company's VoIP servers through the softphone's configuration)."""
        # sudo: the provider's company is checked, whoever may read the provider
        provider_sudo = self.env["didww.voip.provider"].sudo().browse(provider_id).exists()
        for user in self:
            if not provider_sudo or not user.sudo()._didww_may_use_provider(provider_sudo):
                raise AccessError(self.env._("This VoIP provider belongs to a company you are not in."))

    def _didww_may_use_provider(self, provider):
        """Whether this user may use ``provider``: a shared one, or one of their companies'."""
        self.ensure_one()
        return not provider.company_id or provider.company_id in self.company_ids

    def _didww_voip_secret_holders(self):
        """The users of ``self`` whose VoIP secret the request's user may read and set: their own,
        or anyone's for administrators. Decided on the real user (``uid``), never on ``sudo()``:
        code that reads users in sudo on another user's behalf still gets no secret."""
        if self.env.uid == SUPERUSER_ID or self.env.user._is_system():
            return self
        if not self.env.user._is_internal():
            return self.browse()  # the softphone is for internal users only
        return self.filtered(lambda user: user._origin.id == self.env.uid)

    @api.depends_context("uid")
    def _compute_didww_voip_secret(self):
        holders = self._didww_voip_secret_holders()
        # sudo: didww.voip.credential is closed to ordinary users; only the secrets of the users
        # found above (the request's user, or any for an administrator) are read
        credentials_sudo = self.env["didww.voip.credential"].sudo().search(
            [("user_id", "in", holders._origin.ids)])
        secrets = {credential.user_id.id: credential.secret for credential in credentials_sudo}
        for user in self:
            user.didww_voip_secret = secrets.get(user._origin.id, False)

    def _search_didww_voip_secret(self, operator, value):
        # the same refusal for everyone, whatever the domain's path (Odoo would otherwise log an
        # error and ignore the condition)
        raise AccessError(self.env._("VoIP secrets cannot be searched."))

    def _inverse_didww_voip_secret(self):
        if self - self._didww_voip_secret_holders():
            raise AccessError(self.env._("Only the user themself or an administrator can set a VoIP secret."))
        # sudo: as above; the request's user sets their own secret (or an administrator anyone's)
        Credential_sudo = self.env["didww.voip.credential"].sudo()
        credentials_sudo = Credential_sudo.search([("user_id", "in", self.ids)])
        by_user = {credential.user_id.id: credential for credential in credentials_sudo}
        new_values = []
        for user in self:
            credential_sudo = by_user.get(user.id)
            if not user.didww_voip_secret:
                credential_sudo.unlink()
            elif credential_sudo:
                credential_sudo.secret = user.didww_voip_secret
            else:
                new_values.append({"user_id": user.id, "secret": user.didww_voip_secret})
        Credential_sudo.create(new_values)

    @api.model
    def _didww_only_voip_provider(self):
        """The VoIP provider of the current company when there is exactly one, else nothing."""
        # sudo: also evaluated when a signup (public user) creates a user
        providers = self.env["didww.voip.provider"].sudo().search(
            [("company_id", "in", [False, self.env.company.id])], limit=2)
        return providers.id if len(providers) == 1 else False

    @api.model
    def _didww_preselect_voip_provider(self):
        """On install: internal users without a provider get the only one (their Preferences show it)."""
        provider_id = self._didww_only_voip_provider()
        if provider_id:
            self.sudo().search([("share", "=", False), ("didww_voip_provider_id", "=", False)]).write(
                {"didww_voip_provider_id": provider_id})

    @api.model
    def _didww_softphone_config(self):
        """The logged-in user's own softphone configuration, for a SIP client."""
        user_sudo = self.env.user.sudo()  # sudo: the user reads their own provider and secret
        provider = user_sudo.didww_voip_provider_id
        if not user_sudo._is_internal():
            return dict.fromkeys(("provider", "websocket_url", "pbx_server", "username", "secret", "uri"), False)
        if not user_sudo._didww_may_use_provider(provider):
            provider = provider.browse()  # never another company's servers
        return {
            "provider": provider.name or False,
            "websocket_url": provider.ws_server or False,
            "pbx_server": provider.pbx_server or False,
            "username": user_sudo.didww_voip_username or False,
            "secret": user_sudo.didww_voip_secret or False,
            "uri": f"sip:{user_sudo.didww_voip_username}@{provider.pbx_server}"
            if provider and user_sudo.didww_voip_username else False,
        }
