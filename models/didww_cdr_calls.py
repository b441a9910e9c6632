"""Calls from DIDWW's records, logged: each record of an export's file becomes a ``didww.call``
entry (with its caller's contact, its user and a note on the contact), unless the softphone
logged the call already (then the record is only linked to it). The export job that fetches the
files is ``didww_cdr_export.py``."""

from datetime import timedelta

from markupsafe import escape

from odoo import api, models
from odoo.tools import SQL

from ..tools import phone
from . import didww_call_party

MATCH_SECONDS = 10  # a softphone call and a DIDWW record are the same call when they start this close
TAIL_DIGITS = 7  # digits compared before looking a caller up (as the SMS look-up compares them)


class DidwwCdrExport(models.Model):
    _inherit = "didww.cdr.export"

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
            partner = didww_call_party.partner_of(document) if document else None
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
        """The contact (else open lead) with that number, as ``didww_call_party.find_caller``
        finds it for the softphone, in ``company``; a contact whose number was typed in a national
        format is found as inbound SMS find it (``res.partner._didww_find_by_phone``)."""
        key = ("caller", company.id, number)
        if key not in cache and self._didww_tail(number) not in self._didww_known_tails(cache):
            cache[key] = None  # no contact or lead has a number ending like this one: no search needed
        if key not in cache:
            # sudo: the server logs the call; the note and the activity go on the record whoever may see it
            document = didww_call_party.find_caller(self.sudo().with_company(company).env, number)
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
