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
            # the SMS counter (sms_widget) of SMS marketing and templates says where SMS go
            info["didww_sms_company_ids"] = user.company_ids.filtered("didww_sms_active").ids
        return info
