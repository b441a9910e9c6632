import socket
import struct

from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..models.ir_http import LISTEN_BACKLOG


def listen_backlog(listener):
    """The backlog of a listening socket, as Linux reports it (``tcpi_sacked`` of TCP_INFO)."""
    info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from("I", info, 28)[0]


@tagged("post_install", "-at_install", "didww_connector")
class TestListenBacklog(TransactionCase):
    """A burst of deliveries waits for a free worker of Odoo's multi-worker server instead of
    being reset (dev/bench.py --inbound measures the burst)."""

    def setUp(self):
        super().setUp()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(self.listener.close)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)  # Odoo's 8 per worker, with 2 workers
        self.assertEqual(listen_backlog(self.listener), 16)
        self.patch(config, "options", dict(config.options))

    def test_the_shared_listening_socket_of_two_workers_is_widened(self):
        self.assertEqual(self.env["ir.http"]._didww_widen_listen_backlog(self.listener, 2), LISTEN_BACKLOG)
        self.assertEqual(listen_backlog(self.listener), LISTEN_BACKLOG)

    def test_the_backlog_is_set_in_odoo_conf_and_zero_keeps_odoos(self):
        config.options["didww_listen_backlog"] = "512"
        self.assertEqual(self.env["ir.http"]._didww_widen_listen_backlog(self.listener, 2), 512)
        self.assertEqual(listen_backlog(self.listener), 512)
        self.listener.listen(16)
        config.options["didww_listen_backlog"] = "0"
        self.assertIsNone(self.env["ir.http"]._didww_widen_listen_backlog(self.listener, 2))
        self.assertEqual(listen_backlog(self.listener), 16)

    def test_a_server_with_enough_workers_keeps_its_own_backlog(self):
        self.assertIsNone(self.env["ir.http"]._didww_widen_listen_backlog(self.listener, 32))
        self.assertEqual(listen_backlog(self.listener), 16)
