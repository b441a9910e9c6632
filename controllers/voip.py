from odoo import http
from odoo.http import request


class DidwwVoipController(http.Controller):

    @http.route("/didww/voip/config", type="json", auth="user")
    def didww_voip_config(self):
        """The logged-in user's own softphone configuration (never another user's)."""
        return request.env["res.users"]._didww_softphone_config()
