"""Calls from DIDWW's records: exports of ``cdr_in`` / ``cdr_out`` asked for, awaited, imported.

One record per export asked of DIDWW (a type and a period). The cron asks for the calls since
the last import, waits for DIDWW to complete the exports (a signed callback wakes it up, polling
does otherwise), downloads each file and has its calls logged (``didww_cdr_calls.py``). The period
imported so far is ``res.company.didww_cdr_imported_until``.
"""

import logging
import threading
import time
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.didww_cdr import CdrFormatError, read_records
from ..tools.didww_http import DidwwError, DidwwNotFoundError

_logger = logging.getLogger(__name__)

CALLBACK_ROUTE = "/didww/cdr_export_done"
EXPORT_TYPES = ("cdr_in", "cdr_out")
LAG = timedelta(minutes=5)  # a call is in DIDWW's records once it has ended: stop this much before now
OVERLAP = timedelta(hours=1)  # each period starts this much before the last one ended (calls still running)
MIN_PERIOD = timedelta(minutes=5)
EXPORT_TIMEOUT = timedelta(hours=6)  # an export still not completed after this is asked again
MAX_ATTEMPTS = 4  # exports asked for one period and type before the period waits for the next run
CHUNK = 1000  # records imported (and, in a cron, committed) at a time
RECHECK = timedelta(minutes=2)  # when exports are still running at the end of a run, look again then


def retention_start(now):
    """The oldest time DIDWW exports: the first day of the month two months before ``now``'s."""
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _month in range(2):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


class DidwwCdrExport(models.Model):
    _name = "didww.cdr.export"
    _description = "DIDWW call records export"
    _order = "id desc"
    _rec_name = "export_type"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="cascade")
    export_type = fields.Selection([("cdr_in", "Inbound calls"), ("cdr_out", "Outbound calls")], required=True,
                                   readonly=True)
    date_from = fields.Datetime("From", required=True, readonly=True)
    date_to = fields.Datetime("To", required=True, readonly=True)
    didww_export_id = fields.Char("DIDWW export", readonly=True, index="btree_not_null", copy=False)
    didww_status = fields.Char("DIDWW status", readonly=True)
    state = fields.Selection([
        ("waiting", "Waiting for DIDWW"),
        ("done", "Imported"),
        ("retried", "Asked again"),
        ("failed", "Failed"),
    ], required=True, readonly=True, default="waiting", index=True)
    attempt = fields.Integer(readonly=True, default=1)
    callback_received = fields.Boolean(readonly=True)
    rows_read = fields.Integer("Calls in the file", readonly=True)
    rows_created = fields.Integer("Calls logged", readonly=True)
    rows_matched = fields.Integer("Already logged by the softphone", readonly=True)
    rows_known = fields.Integer("Already imported", readonly=True)
    rows_skipped = fields.Integer("Unreadable rows skipped", readonly=True)
    message = fields.Text(readonly=True)

    # ------------------------------------------------------------------------------------------
    # Cron and actions
    # ------------------------------------------------------------------------------------------

    @api.model
    def _cron_import(self):
        """Import the calls of every company that logs DIDWW's call records."""
        companies = self.env["res.company"].sudo().search([("didww_cdr_import", "=", True),
                                                           ("didww_api_key", "!=", False)])
        for company in companies:
            try:
                self.with_company(company)._didww_import_company(company)
            except (DidwwError, UserError) as exc:
                _logger.warning("DIDWW call records of company %s: %s", company.id, exc)
                company.didww_cdr_last_message = self.env._("The last import failed: %(error)s", error=(
                    company._didww_error_message(exc, self.env._("DIDWW refused"))
                    if isinstance(exc, DidwwError) else _error_text(exc)))
            self._didww_commit()

    @api.model
    def _action_import_now(self, company):
        """Run the import for ``company`` now; return a notification saying where it stands."""
        first = not company.sudo().didww_cdr_imported_until
        try:
            self.with_company(company)._didww_import_company(company)
        except DidwwError as exc:
            raise UserError(company._didww_error_message(
                exc, self.env._("DIDWW's call records could not be imported"))) from None
        message = company.sudo().didww_cdr_last_message or ""
        if first:
            message = self.env._(
                "First import: calls as far back as DIDWW keeps them (since %(since)s) were asked for. "
                "DIDWW prepares them in the background; they appear as its exports complete.",
                since=fields.Date.to_string(retention_start(fields.Datetime.now()))) + " " + message
        return {"type": "ir.actions.client", "tag": "display_notification",
                "params": {"title": self.env._("DIDWW call records"), "message": message, "type": "info",
                           "sticky": first}}

    @api.model
    def _didww_callback(self, company, payload):
        """DIDWW says an export finished (signature checked by the caller): mark it and wake the
        cron. The callback is only a hint: the cron reads the export's state from DIDWW.
        Return whether the export is ours."""
        export = self.sudo().search([("company_id", "=", company.id), ("didww_export_id", "=", payload.get("id")),
                                     ("state", "=", "waiting")], limit=1)
        if not export:
            return False
        export.callback_received = True
        # sudo: the route is public (DIDWW calls it); waking the cron is the server's business
        self.env.ref("didww_connector.ir_cron_didww_cdr_import").sudo()._trigger()
        return True

    # ------------------------------------------------------------------------------------------
    # The import of one company
    # ------------------------------------------------------------------------------------------

    def _didww_import_company(self, company):
        company = company.sudo()  # sudo: the API key and the import's state are admin-only fields
        now = fields.Datetime.now()
        waiting = self.sudo().search([("company_id", "=", company.id), ("state", "=", "waiting")])
        with company._didww_api_client() as client:
            if not waiting:
                waiting = self._didww_ask(client, company, now)
                if not waiting:
                    return
            budget = self._didww_poll_budget()
            deadline = time.monotonic() + budget
            delay = 0.2
            while True:
                for export in waiting:
                    export._didww_check(client)
                # the exports asked again replace those that expired
                waiting = self.sudo().search([("company_id", "=", company.id), ("state", "=", "waiting")])
                if not waiting or time.monotonic() + delay > deadline:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        self._didww_close_period(company)
        if waiting:
            self.env.ref("didww_connector.ir_cron_didww_cdr_import").sudo()._trigger(now + RECHECK)

    def _didww_poll_budget(self):
        """Seconds a run waits for DIDWW's exports: ``didww_connector.cdr_poll_seconds`` (default 60)."""
        value = self.env["ir.config_parameter"].sudo().get_param("didww_connector.cdr_poll_seconds", "60")
        try:
            return min(max(float(value), 0.0), 600.0)
        except ValueError:
            return 60.0

    def _didww_ask(self, client, company, now):
        """Ask DIDWW for the calls since the last import (first time: as far back as it keeps)."""
        oldest = retention_start(now)
        since = company.didww_cdr_imported_until
        date_from = max(since - OVERLAP, oldest) if since else oldest
        date_to = now - LAG
        if date_to - date_from < MIN_PERIOD:
            return self.browse()
        if since and since - OVERLAP < oldest:
            _logger.warning("DIDWW call records of company %s: calls before %s are no longer kept by DIDWW",
                            company.id, oldest)
        exports = self.browse()
        for export_type in EXPORT_TYPES:
            exports |= self._didww_create(client, company, export_type, date_from, date_to, attempt=1)
        company.didww_cdr_last_message = self.env._(
            "Asked DIDWW for the calls from %(since)s to %(until)s (UTC); waiting for its exports.",
            since=date_from, until=date_to)
        self._didww_commit()  # the exports exist at DIDWW: never ask twice for them
        return exports

    def _didww_create(self, client, company, export_type, date_from, date_to, attempt):
        callback_url = company._didww_cdr_callback_url()
        answer = client.create_export(export_type, date_from, date_to, callback_url=callback_url,
                                      external_reference_id=f"odoo-{company.id}-{export_type}")
        return self.sudo().create({
            "company_id": company.id, "export_type": export_type, "date_from": date_from, "date_to": date_to,
            "didww_export_id": answer["id"], "didww_status": answer["status"], "attempt": attempt,
        })

    def _didww_check(self, client):
        """Read this export at DIDWW; import it once completed; ask again when it failed or expired."""
        self.ensure_one()
        try:
            answer = client.export(self.didww_export_id)
        except DidwwNotFoundError:
            return self._didww_retry(client, self.env._("DIDWW no longer knows this export (expired or deleted)."))
        self.didww_status = answer["status"]
        if answer["status"] == "completed" and answer["url"]:
            try:
                data = client.download_export(answer["url"])
            except DidwwNotFoundError:
                return self._didww_retry(client, self.env._("DIDWW no longer has the export's file."))
            return self._didww_import_file(data)
        if answer["status"] in ("pending", "processing", "completed"):
            if fields.Datetime.now() - self.create_date > EXPORT_TIMEOUT:
                return self._didww_retry(client, self.env._("DIDWW did not complete the export within %(hours)s hours.",
                                                    hours=int(EXPORT_TIMEOUT.total_seconds() // 3600)))
            return None
        return self._didww_retry(client, self.env._("DIDWW reported the export as %(status)s.",
                                                    status=answer["status"]))

    def _didww_retry(self, client, reason):
        self.ensure_one()
        if self.attempt >= MAX_ATTEMPTS:
            self.write({"state": "failed", "message": self.env._(
                "%(reason)s Given up after %(attempts)s attempts: the next run asks for this period again.",
                reason=reason, attempts=self.attempt)})
            return self.browse()
        self.write({"state": "retried", "message": self.env._("%(reason)s Asked DIDWW again.", reason=reason)})
        replacement = self._didww_create(client, self.company_id, self.export_type, self.date_from,
                                         self.date_to, self.attempt + 1)
        self._didww_commit()
        return replacement

    def _didww_import_file(self, data):
        self.ensure_one()
        try:
            records, skipped = read_records(data, self.export_type)
        except CdrFormatError as exc:
            self.write({"state": "failed", "message": self.env._("The export file could not be read: %(error)s",
                                                                 error=str(exc))})
            return None
        totals = {"created": 0, "matched": 0, "known": 0}
        records.sort(key=lambda record: record["start"])
        cache = {}  # numbers, callers and users looked up once per file
        for index in range(0, len(records), CHUNK):
            counts = self._didww_import_records(self.company_id, records[index:index + CHUNK], cache)
            for key in totals:
                totals[key] += counts[key]
            self.write({"rows_read": min(index + CHUNK, len(records)), "rows_created": totals["created"],
                        "rows_matched": totals["matched"], "rows_known": totals["known"]})
            self._didww_commit()
        self.write({
            "state": "done", "rows_read": len(records), "rows_skipped": skipped,
            "message": self.env._(
                "%(created)s calls logged, %(matched)s already in the softphone's log, %(known)s imported before, "
                "%(skipped)s unreadable rows skipped.", created=totals["created"], matched=totals["matched"],
                known=totals["known"], skipped=skipped),
        })
        return None

    @api.model
    def _didww_close_period(self, company):
        """Once both exports of the latest period are imported, the company is imported up to its end."""
        latest = self.sudo().search([("company_id", "=", company.id)], order="date_to desc, id desc", limit=1)
        if not latest:
            return
        period = self.sudo().search([("company_id", "=", company.id), ("date_to", "=", latest.date_to),
                                     ("date_from", "=", latest.date_from), ("state", "in", ("done", "waiting",
                                                                                             "failed"))])
        done = period.filtered(lambda e: e.state == "done")
        if set(done.mapped("export_type")) >= set(EXPORT_TYPES) and not period.filtered(
                lambda e: e.state == "waiting"):
            if not company.didww_cdr_imported_until or company.didww_cdr_imported_until < latest.date_to:
                company.didww_cdr_imported_until = latest.date_to
            company.didww_cdr_last_message = self.env._(
                "Imported up to %(until)s (UTC): %(created)s calls logged, %(matched)s already in the softphone's "
                "log, %(skipped)s unreadable rows skipped.", until=latest.date_to,
                created=sum(done.mapped("rows_created")), matched=sum(done.mapped("rows_matched")),
                skipped=sum(done.mapped("rows_skipped")))
        elif period.filtered(lambda e: e.state == "waiting"):
            company.didww_cdr_last_message = self.env._(
                "Import in progress: asked DIDWW for the calls from %(since)s to %(until)s (UTC); %(done)s of "
                "%(total)s exports imported, %(rows)s calls read so far.", since=latest.date_from,
                until=latest.date_to, done=len(done), total=len(EXPORT_TYPES), rows=sum(period.mapped("rows_read")))
        else:
            company.didww_cdr_last_message = self.env._(
                "DIDWW could not export the calls from %(since)s to %(until)s (UTC); the next run asks again.",
                since=latest.date_from, until=latest.date_to)


    def _didww_commit(self):
        """Commit in a cron (each export asked, each chunk imported stays done); never in tests."""
        if not getattr(threading.current_thread(), "testing", False) and self.env.context.get("didww_cdr_commit"):
            self.env.cr.commit()  # pylint: disable=invalid-commit


def _error_text(exc):
    return (exc.args[0] if isinstance(exc, UserError) and exc.args else str(exc)) or exc.__class__.__name__

