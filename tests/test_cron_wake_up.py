import select
import socket
import threading
import time

import psycopg2
from freezegun import freeze_time

from odoo import fields
from odoo.sql_db import connection_info_for
from odoo.tests import tagged
from odoo.tools import config

from ..models.didww_webhook_queue import WAKE_AHEAD, WAKE_FRESH
from .common import DidwwHttpCase
from .test_webhook_queue import inbound_payload


class DroppingForwarder:
    """A TCP forwarder on 127.0.0.1 to PostgreSQL that can drop the connections it holds silently,
    as a firewall or a NAT drops an idle connection: what is sent on them is never answered, and
    nothing tells either end. New connections are forwarded as usual."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.dropped = set()  # connections (client sockets) that no longer forward anything
        self.open = set()  # connections whose client has not closed them
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            self.open.add(client)
            threading.Thread(target=self._pump, args=(client, server, client), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, client), daemon=True).start()

    def _pump(self, source, sink, key):
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    if source is key:  # the client closed: so does the forwarded connection
                        self.open.discard(key)
                        sink.shutdown(socket.SHUT_WR)
                    return
                if key not in self.dropped:
                    sink.sendall(data)
            except OSError:
                return

    def drop_all(self):
        # what a client closed has been forwarded to its end (or never will: a kept connection)
        deadline = time.monotonic() + 5
        while self.open and time.monotonic() < deadline:
            time.sleep(0.05)
        self.dropped.update(self.sockets[0::2])

    def close(self):
        self.listener.close()
        for sock in self.sockets:
            sock.close()


@tagged("post_install", "-at_install", "didww_connector")
class TestCronWakeUp(DidwwHttpCase):
    """Every webhook delivery wakes the processing cron the way Odoo does (``ir.cron._trigger``),
    with no connection kept by the addon, and deliveries close together share one wake-up."""

    def setUp(self):
        super().setUp()
        _name, params = connection_info_for("postgres")
        self.listener = psycopg2.connect(**params)
        self.addCleanup(self.listener.close)
        self.listener.autocommit = True
        with self.listener.cursor() as cr:
            cr.execute("LISTEN cron_trigger")
        self.Event = self.env["didww.webhook.event"]

    def wake_ups(self, count, timeout=20):
        received, deadline = [], time.monotonic() + timeout
        while len(received) < count and time.monotonic() < deadline:
            select.select([self.listener], [], [], 0.2)
            self.listener.poll()
            while self.listener.notifies:
                received.append(self.listener.notifies.pop(0).payload)
        return received

    def event_cron(self, response):
        return self.Event.browse(response.json()["event"])._processing_crons()

    def triggers(self, crons, since):
        return self.env["ir.cron.trigger"].search([("cron_id", "in", crons.ids), ("id", ">", since)])

    def last_trigger_id(self):
        return self.env["ir.cron.trigger"].search([], order="id desc", limit=1).id

    def test_a_silently_dropped_database_connection_blocks_no_wake_up(self):
        """Issue 19 item 2: with a connection kept by the process, a firewall dropping it while idle
        blocked every wake-up (and every request behind it) for as long as TCP retries."""
        cron = self.env["didww.webhook.event"]._processing_crons()[:1]
        _name, params = connection_info_for("postgres")
        forwarder = DroppingForwarder((params.get("host") or "127.0.0.1", int(params.get("port") or 5432)))
        self.addCleanup(forwarder.close)
        with self.listener.cursor() as cr:  # what this process has open on the postgres database is lost
            cr.execute("""SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'postgres'
                          AND application_name = %s AND pid <> pg_backend_pid()""", [params["application_name"]])
        self.patch(config, "options", dict(config.options, db_host="127.0.0.1", db_port=forwarder.port))
        cron._notifydb()
        cron._notifydb()
        forwarder.drop_all()  # every connection made so far goes silent
        woken = threading.Event()

        def wake():
            cron._notifydb()
            woken.set()

        threading.Thread(target=wake, daemon=True).start()
        # not a speed goal: a dropped connection blocks for minutes (TCP's retries), 60 s is "never"
        self.assertTrue(woken.wait(60), "a wake-up waited on a connection that a firewall dropped")
        self.assertEqual(self.wake_ups(3), [self.env.cr.dbname] * 3)
        ports = [server.getsockname()[1] for server in forwarder.sockets[1::2]]
        deadline, kept = time.monotonic() + 10, None
        with self.listener.cursor() as cr:
            while kept != 0 and time.monotonic() < deadline:  # PostgreSQL ends a closed connection's process
                cr.execute("SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY(%s)", [ports])
                kept = cr.fetchone()[0]
                time.sleep(0.1)
        self.assertEqual(kept, 0, "no connection to PostgreSQL is kept open after a wake-up")

    def test_deliveries_close_together_share_one_wake_up(self):
        since = self.last_trigger_id()
        first = self.post_json(inbound_payload("wake 1", sender="37067711111", uuid="w-1"), process=False)
        crons = self.event_cron(first)
        woken = self.triggers(crons, since)
        self.assertEqual(len(woken), 1, "the first delivery wakes the cron")
        self.assertLessEqual(woken.call_at, fields.Datetime.now())
        for index in range(2, 6):
            self.post_json(inbound_payload(f"wake {index}", sender="37067711111", uuid=f"w-{index}"), process=False)
        later = self.triggers(crons, woken.id)
        self.assertFalse(later.filtered(lambda trigger: trigger.call_at <= fields.Datetime.now()),
                         "no new wake-up while one is due: no new PostgreSQL connection either")
        self.assertEqual(len(later), 1, "one trigger ahead, for a run that would finish without these")
        self.assertGreaterEqual(later.call_at, fields.Datetime.now() + WAKE_AHEAD)
        self.process_events()
        self.assertEqual(self.Event.browse(first.json()["event"]).state, "done")

    def test_an_event_stored_while_a_run_finishes_is_processed_by_the_next_run(self):
        """The race: a delivery relies on a due wake-up, and the run it woke had its last look
        before the delivery committed, then deletes its triggers (Odoo's ``_reschedule_later``:
        those dated before the run started). A trigger dated after the delivery survives it."""
        since = self.last_trigger_id()
        self.post_json(inbound_payload("race 1", sender="37067722222", uuid="r-1"), process=False)
        response = self.post_json(inbound_payload("race 2", sender="37067722222", uuid="r-2"), process=False)
        crons = self.event_cron(response)
        run_started = fields.Datetime.now()
        self.env.cr.execute("DELETE FROM ir_cron_trigger WHERE cron_id = ANY(%s) AND call_at <= %s",
                            [crons.ids, run_started])
        self.env.invalidate_all()
        left = self.triggers(crons, since)
        self.assertTrue(left, "the crons are due again after the finishing run")
        self.assertGreater(min(left.mapped("call_at")), run_started)

    def test_a_wake_up_due_for_a_while_is_sent_again(self):
        """A due wake-up that nothing honoured in WAKE_FRESH (its workers were busy elsewhere, its
        run ended early) does not silence the deliveries that follow."""
        first = self.post_json(inbound_payload("stale 1", sender="37067733333", uuid="s-1"), process=False)
        crons = self.event_cron(first)
        since = self.last_trigger_id()
        with freeze_time(fields.Datetime.now() + WAKE_FRESH * 2):
            self.post_json(inbound_payload("stale 2", sender="37067733333", uuid="s-2"), process=False)
            woken = self.triggers(crons, since)
            self.assertEqual(len(woken.filtered(lambda trigger: trigger.call_at <= fields.Datetime.now())), 1)

    def test_a_retry_is_a_trigger_at_its_time(self):
        response = self.post_json(inbound_payload("later", sender="37067744444", uuid="l-1"), process=False)
        event = self.Event.browse(response.json()["event"])
        since = self.last_trigger_id()
        at = fields.Datetime.now() + WAKE_AHEAD * 10
        event._wake_processing(at)
        self.assertEqual(self.triggers(event._processing_crons(), since).mapped("call_at"), [at])
