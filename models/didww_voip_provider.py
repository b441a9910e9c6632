import ipaddress
import re
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.sip_websocket import check_sip_websocket

DEFAULT_WS_SERVER = "wss://sip.phone.systems"
DEFAULT_PBX_SERVER = "sip.phone.systems"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$)({_LABEL}\.)*{_LABEL}$")


def is_host(value):
    """A host name or an IPv4/IPv6 address, with an optional port."""
    value = (value or "").strip()
    host, _sep, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    if port and not port.isdigit():
        return False
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOSTNAME.match(host))


class DidwwVoipProvider(models.Model):
    _name = "didww.voip.provider"
    _description = "DIDWW VoIP provider"
    _order = "sequence, id"

    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, default="DIDWW")
    ws_server = fields.Char("WebSocket", required=True, default=DEFAULT_WS_SERVER,
                            help="SIP over WebSocket server, e.g. wss://sip.phone.systems")
    pbx_server = fields.Char("PBX server", required=True, default=DEFAULT_PBX_SERVER,
                             help="SIP domain or IP of the PBX, e.g. sip.phone.systems")
    # users read the providers of their companies, or shared ones (record rule): so their company
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)
    active = fields.Boolean(default=True)
    user_count = fields.Integer(compute="_compute_user_count")

    def _compute_user_count(self):
        counts = dict(self.env["res.users"]._read_group(
            [("didww_voip_provider_id", "in", self.ids)], ["didww_voip_provider_id"], ["__count"]))
        for provider in self:
            provider.user_count = counts.get(provider, 0)

    @api.constrains("ws_server")
    def _check_ws_server(self):
        for provider in self:
            parts = urlsplit(provider.ws_server or "")
            if parts.scheme != "wss" or not parts.hostname or not is_host(parts.netloc.rpartition("@")[2]):
                raise ValidationError(self.env._(
                    "The WebSocket must be a secure WebSocket URL such as wss://sip.phone.systems "
                    "(got %(value)s).", value=provider.ws_server))

    @api.constrains("pbx_server")
    def _check_pbx_server(self):
        for provider in self:
            if not is_host(provider.pbx_server):
                raise ValidationError(self.env._(
                    "The PBX server must be a host name or an IP address such as sip.phone.systems "
                    "(got %(value)s).", value=provider.pbx_server))

    def action_test_connection(self):
        """Check that the WebSocket server answers a SIP-over-WebSocket handshake (RFC 7118)."""
        self.ensure_one()
        ok, detail = check_sip_websocket(self.ws_server)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Connection successful") if ok else self.env._("Connection failed"),
                "message": detail,
                "type": "success" if ok else "danger",
                "sticky": not ok,
            },
        }
