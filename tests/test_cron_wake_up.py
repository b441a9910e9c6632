import select
import time

import psycopg2

from odoo.sql_db import connection_info_for
from odoo.tests import TransactionCase, tagged

from ..models.ir_cron import cron_wake_up


@tagged("post_install", "-at_install", "didww_connector")
class TestCronWakeUp(TransactionCase):
    """Every webhook delivery wakes the processing cron; the wake-up goes over one connection kept
    by the process instead of a new PostgreSQL connection each time."""

    def setUp(self):
        super().setUp()
        _name, params = connection_info_for("postgres")
        self.listener = psycopg2.connect(**params)
        self.addCleanup(self.listener.close)
        self.listener.autocommit = True
        with self.listener.cursor() as cr:
            cr.execute("LISTEN cron_trigger")

    def wake_ups(self, count, timeout=5):
        received, deadline = [], time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            select.select([self.listener], [], [], 0.2)
            self.listener.poll()
            while self.listener.notifies:
                received.append(self.listener.notifies.pop(0).payload)
        return received

    def kept_backend(self):
        with cron_wake_up._connection.cursor() as cr:
            cr.execute("SELECT pg_backend_pid()")
            return cr.fetchone()[0]

    def test_the_cron_workers_are_woken_over_one_kept_connection(self):
        self.env["ir.cron"]._notifydb()
        backend = self.kept_backend()
        self.env["ir.cron"]._notifydb()
        self.assertEqual(self.wake_ups(2), [self.env.cr.dbname] * 2)
        self.assertEqual(self.kept_backend(), backend, "no new PostgreSQL connection for the second")

    def test_a_lost_connection_still_wakes_the_crons_then_is_replaced(self):
        self.env["ir.cron"]._notifydb()
        with self.listener.cursor() as cr:
            cr.execute("SELECT pg_terminate_backend(%s)", [self.kept_backend()])
        time.sleep(0.2)
        self.env["ir.cron"]._notifydb()  # fails over the dead connection: sent as Odoo does
        self.env["ir.cron"]._notifydb()  # over a new kept connection
        self.assertEqual(self.wake_ups(3), [self.env.cr.dbname] * 3)
        self.assertFalse(cron_wake_up._connection.closed)
