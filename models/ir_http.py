from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """Tell the web client whether to start the softphone: a flag only, never a credential
        (the softphone fetches its configuration from /didww/voip/config when it starts)."""
        info = super().session_info()
        user = self.env.user
        if info.get("is_internal_user"):
            info["didww_softphone"] = bool(user.didww_voip_provider_id and user.didww_voip_username)
        return info
