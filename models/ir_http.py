import logging

from odoo import api, models
from odoo.service import server as odoo_server
from odoo.tools import config

_logger = logging.getLogger(__name__)

# Connections that may wait for a free worker of Odoo's multi-worker server (odoo.conf:
# didww_listen_backlog; 0 keeps Odoo's 8 per worker)
LISTEN_BACKLOG = 128


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

    def _register_hook(self):
        super()._register_hook()
        prefork = odoo_server.server
        if isinstance(prefork, odoo_server.PreforkServer) and getattr(prefork, "socket", None):
            self._didww_widen_listen_backlog(prefork.socket, prefork.population)

    @api.model
    def _didww_widen_listen_backlog(self, listener, workers):
        """Let a burst of deliveries wait for a free worker instead of being reset.

        DIDWW posts a campaign's replies dozens at a time. Odoo's multi-worker server listens with
        a backlog of 8 connections per worker; past it Linux answers with SYN cookies, and resets
        the connections whose cookie it no longer accepts once a worker is free: DIDWW retries
        them, late. The listening socket is shared by every worker, so widening it here (each
        worker's registry calls this on loading; ``listen`` on a listening socket only changes its
        backlog) widens it for the whole server. Return the backlog set, or None.
        """
        backlog = int(config.get("didww_listen_backlog", LISTEN_BACKLOG) or 0)
        if backlog <= 8 * workers:
            return None
        try:
            listener.listen(backlog)
        except OSError as exc:
            _logger.warning("DIDWW: could not widen the HTTP listen backlog to %s: %s", backlog, exc)
            return None
        return backlog
