"""Calls from DIDWW's records: exports of ``cdr_in`` / ``cdr_out`` asked for, awaited, imported.

One record per export asked of DIDWW (a type and a period). The cron asks for the calls since
the last import, waits for DIDWW to complete the exports (a signed callback wakes it up, polling
does otherwise), downloads each file and logs its calls as ``didww.call`` entries, unless the
softphone logged them already. The period imported so far is ``res.company.didww_cdr_imported_until``.
"""

import logging
import threading
import time
from datetime import timedelta

from markupsafe import escape

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import phone
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
MATCH_SECONDS = 10  # a softphone call and a DIDWW record are the same call when they start this close
CHUNK = 1000  # records imported (and, in a cron, committed) at a time
RECHECK = timedelta(minutes=2)  # when exports are still running at the end of a run, look again then
TAIL_DIGITS = 7  # digits compared before looking a caller up (as the SMS look-up compares them)


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

    # ------------------------------------------------------------------------------------------
    # Calls
    # ------------------------------------------------------------------------------------------

    @api.model
    def _didww_import_records(self, company, records, cache=None):
        """Log ``records`` (of :func:`read_records`) as ``company``'s calls; return the counts
        ``created``, ``matched`` (the softphone logged it: the record is only linked to it) and
        ``known`` (imported before).

        The calls are created by the server: users only read ``didww.call`` (the softphone writes
        through its own checked methods), and a record of DIDWW is no user's action.
        """
        Call = self.env["didww.call"].sudo().with_company(company)  # sudo: see the docstring
        cache = {} if cache is None else cache
        counts = {"created": 0, "matched": 0, "known": 0}
        known = set(Call.search_fetch([("company_id", "=", company.id),
                                       ("didww_cdr_id", "in", [r["cdr_id"] for r in records])],
                                      ["didww_cdr_id"]).mapped("didww_cdr_id"))
        fresh = [record for record in records if record["cdr_id"] not in known]
        counts["known"] = len(records) - len(fresh)
        if not fresh:
            return counts
        numbers = self._didww_numbers(company, cache)
        softphone = self._didww_softphone_calls(company, fresh)
        vals_list, matched = [], []
        for record in fresh:
            remote = self._didww_remote(record["remote"], company, cache)
            did = self._didww_did(record["did"], cache)
            twin = self._didww_twin(softphone, record, remote)
            if twin:
                matched.append((twin, record))
                continue
            number = numbers.get(did)
            document = self._didww_caller(company, remote, cache)
            partner = Call._didww_partner_of(document) if document else None
            user_key = ("user", number[0].id if number else 0, partner.id if partner else 0)
            if user_key not in cache:
                cache[user_key] = self._didww_user(number, partner)
            user = cache[user_key]
            answered = bool(record["answered_at"])
            if answered:
                state, reason = "done", False
            elif record["direction"] == "incoming":
                state, reason = "missed", False
            else:
                state, reason = "failed", record["disposition"] or self.env._("not answered")
            vals_list.append({
                "direction": record["direction"], "number": remote, "partner_id": partner.id if partner else False,
                "res_model": document._name if document else False, "res_id": document.id if document else False,
                "user_id": user.id, "company_id": company.id, "start": record["start"],
                "answered_at": record["answered_at"], "duration": record["duration"] if answered else 0,
                "state": state, "failure_reason": reason, "source": "didww",
                "didww_disposition": record["disposition"] or False, "didww_cdr_id": record["cdr_id"],
                "didww_number": did or record["did"],
            })
        for twin, record in matched:
            twin.write({"didww_cdr_id": record["cdr_id"], "didww_disposition": record["disposition"] or False})
        counts["matched"] = len(matched)
        calls = Call.create(vals_list)
        counts["created"] = len(calls)
        self._didww_post_notes(calls)
        # no e-mail per activity: an import (two months on the first run) would mail users in bulk;
        # the call-backs are in each user's activities all the same
        calls.filtered(lambda c: c.direction == "incoming" and c.state == "missed").with_context(
            mail_activity_quick_update=True)._didww_schedule_call_back()
        return counts

    def _didww_numbers(self, company, cache):
        """``{E.164: (didww.sms.number, its users)}`` of the company, read once per import."""
        if ("numbers", company.id) not in cache:
            numbers = self.env["didww.sms.number"].sudo().with_context(active_test=False).search(
                [("company_id", "=", company.id)])
            by_number, _users = numbers._assigned_users_by_number()
            cache[("numbers", company.id)] = {number.number: (number, users) for number, users in by_number.items()}
        return cache[("numbers", company.id)]

    def _didww_remote(self, raw, company, cache):
        """The other party's number as the softphone logs it: E.164 through the addon's one
        normaliser (DIDWW writes international digits), else as DIDWW wrote it."""
        key = ("remote", raw)
        if key not in cache:
            Number = self.env["didww.sms.number"]
            cache[key] = Number._didww_e164(raw) or Number._didww_e164(raw, company.country_id) or phone.loose(raw) \
                or raw
        return cache[key]

    def _didww_did(self, raw, cache):
        key = ("did", raw)
        if key not in cache:
            cache[key] = self.env["didww.sms.number"]._didww_e164(raw) or phone.loose(raw)
        return cache[key]

    def _didww_caller(self, company, number, cache):
        """The contact (else open lead) with that number, as ``didww.call._didww_find_caller``
        finds it for the softphone, in ``company``; a contact whose number was typed in a national
        format is found as inbound SMS find it (``res.partner._didww_find_by_phone``)."""
        key = ("caller", company.id, number)
        if key not in cache and self._didww_tail(number) not in self._didww_known_tails(cache):
            cache[key] = None  # no contact or lead has a number ending like this one: no search needed
        if key not in cache:
            # sudo: the server logs the call; the note and the activity go on the record whoever may see it
            document = self.env["didww.call"].sudo().with_company(company)._didww_find_caller(number)
            if (not document or document._name != "res.partner") and number.startswith("+"):
                document = self.env["res.partner"]._didww_find_by_phone(number, company) \
                    or document
            cache[key] = document or None
        return cache[key]

    @staticmethod
    def _didww_tail(number):
        digits = "".join(char for char in number or "" if char.isdigit())
        return digits[-TAIL_DIGITS:]

    def _didww_known_tails(self, cache):
        """The last digits of every phone number of contacts and leads, read once per import: a
        caller whose number ends otherwise is nobody's, and its look-up (a scan of every contact's
        phone and mobile) is skipped. Any number the look-ups can match ends with the same digits."""
        if "tails" not in cache:
            tails = set()
            for model in ("res.partner", "crm.lead"):
                Model = self.env[model]
                columns = [name for name in ("phone", "mobile", "phone_sanitized")
                           if name in Model._fields and Model._fields[name].store]
                for column in columns:
                    # the same clean-up as Odoo's phone search (digits only), on every row, in one query
                    self.env.cr.execute(SQL(
                        "SELECT DISTINCT right(regexp_replace(%s, '[^0-9]', '', 'g'), %s) FROM %s WHERE %s IS NOT NULL",
                        SQL.identifier(column), TAIL_DIGITS, SQL.identifier(Model._table), SQL.identifier(column)))
                    tails.update(row[0] for row in self.env.cr.fetchall())
            cache["tails"] = tails
        return cache["tails"]

    def _didww_user(self, number, partner):
        """The user of a call: among the users the DIDWW number is assigned to, the contact's
        salesperson when there is one, else the first; without an assignment, the contact's
        salesperson; else the superuser (OdooBot)."""
        users = number[1] if number else self.env["res.users"]
        salesperson = partner.user_id if partner and partner.user_id and not partner.user_id.share else None
        if users:
            return salesperson if salesperson and salesperson in users else users.sorted("id")[:1]
        return salesperson or self.env.ref("base.user_root")

    def _didww_softphone_calls(self, company, records):
        """``{(direction, number): [softphone calls]}`` that might be the same as ``records``:
        the softphone's calls of the period not yet linked to a DIDWW record."""
        window = timedelta(seconds=MATCH_SECONDS)
        calls = self.env["didww.call"].sudo().search_fetch([
            ("company_id", "=", company.id), ("source", "=", "softphone"), ("didww_cdr_id", "=", False),
            ("start", ">=", min(r["start"] for r in records) - window),
            ("start", "<=", max(r["start"] for r in records) + window),
        ], ["direction", "number", "start"])
        result = {}
        for call in calls:
            result.setdefault((call.direction, call.number), []).append(call)
        return result

    @staticmethod
    def _didww_twin(softphone, record, remote):
        """The softphone call that is ``record`` (same direction and number, start within
        :data:`MATCH_SECONDS`, the closest), taken out of ``softphone``; or ``None``."""
        candidates = softphone.get((record["direction"], remote))
        if not candidates:
            return None
        best = min(candidates, key=lambda call: abs((call.start - record["start"]).total_seconds()))
        if abs((best.start - record["start"]).total_seconds()) > MATCH_SECONDS:
            return None
        candidates.remove(best)
        return best

    def _didww_post_notes(self, calls):
        """One short note per call on its contact's (or lead's) chatter, logged in batches."""
        by_document = {}
        for call in calls:
            document = call.res_model and call.res_id and (call.res_model, call.res_id)
            if not document and call.partner_id:
                document = ("res.partner", call.partner_id.id)
            if document:
                by_document.setdefault(document, []).append(call)
        rounds = {}
        for (model, res_id), document_calls in by_document.items():
            for position, call in enumerate(document_calls):
                rounds.setdefault((model, position), {})[res_id] = escape(
                    self.env._("%(note)s (from DIDWW's call records)", note=call._didww_note_body()))
        for (model, _position), bodies in rounds.items():
            # sudo: notes of the server's import, on records the cron's user may not reach
            self.env[model].sudo().browse(list(bodies))._message_log_batch(bodies, message_type="comment")

    def _didww_commit(self):
        """Commit in a cron (each export asked, each chunk imported stays done); never in tests."""
        if not getattr(threading.current_thread(), "testing", False) and self.env.context.get("didww_cdr_commit"):
            self.env.cr.commit()  # pylint: disable=invalid-commit


def _error_text(exc):
    return (exc.args[0] if isinstance(exc, UserError) and exc.args else str(exc)) or exc.__class__.__name__

