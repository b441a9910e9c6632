import contextlib
import logging
import os
import threading

import psycopg2
from psycopg2 import sql

from odoo import models
from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION
from odoo.sql_db import connection_info_for

_logger = logging.getLogger(__name__)


class CronWakeUp:
    """One connection to PostgreSQL's ``postgres`` database, kept by this process, to wake the cron
    workers. Odoo opens a new one for every wake-up (its pool keeps no connection to
    ``postgres``), and PostgreSQL forks a server process for each: once per webhook delivery,
    since each wakes the processing cron. Forked workers open their own."""

    def __init__(self):
        self._lock = threading.Lock()
        self._connection = None
        self._pid = None

    def notify(self, dbname):
        """Send the wake-up for ``dbname``; False when it could not be sent this way."""
        with self._lock:
            try:
                if self._connection is None or self._connection.closed or self._pid != os.getpid():
                    _name, params = connection_info_for("postgres")
                    self._connection = psycopg2.connect(**params)
                    self._connection.autocommit = True
                    self._pid = os.getpid()
                with self._connection.cursor() as cr:
                    cr.execute(sql.SQL("SELECT {}(%s, %s)").format(sql.Identifier(ODOO_NOTIFY_FUNCTION)),
                               ["cron_trigger", dbname])
                return True
            except psycopg2.Error as exc:  # e.g. PostgreSQL restarted: a new connection next time
                _logger.info("DIDWW: waking the crons over the kept connection failed (%s)", exc)
                self.close()
                return False

    def close(self):
        if self._connection is not None and self._pid == os.getpid():
            with contextlib.suppress(psycopg2.Error):
                self._connection.close()
        self._connection = None


cron_wake_up = CronWakeUp()


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _notifydb(self):
        """Wake the cron workers as Odoo does, over a connection kept by this process."""
        if cron_wake_up.notify(self.env.cr.dbname):
            return None
        return super()._notifydb()
