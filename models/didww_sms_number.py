import logging

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..tools import phone, sms_keywords
from ..tools.didww_api_client import DidwwApiClient
from .didww_sms_source_picker import SourcePicker

_logger = logging.getLogger(__name__)


class DidwwSmsNumber(models.Model):
    _name = "didww.sms.number"
    _description = "DIDWW SMS number"
    _order = "sequence, id"
    _rec_name = "number"

    sequence = fields.Integer(default=10)
    number = fields.Char(
        required=True, index=True,
        help="Type it as on the DIDWW panel (national or international); it is stored in E.164.",
    )
    name = fields.Char("Label", help="Optional label shown next to the number, e.g. 'Sales US'.")
    # Relational fields: users read the numbers of their companies (record rule), so those companies;
    # countries and internal users are readable by every internal user.
    country_id = fields.Many2one(
        "res.country", default=lambda self: self.env.company.country_id,
        help="Country of the number; also used to reformat remote numbers.")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company, ondelete="cascade")
    user_ids = fields.Many2many(
        "res.users", "didww_sms_number_res_users_rel", "number_id", "user_id", "Assigned users",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
        help="Users who send and receive SMS through this number.",
    )
    all_users = fields.Boolean(
        "All users", help="Every internal user of the company sends and receives through this number.")
    session_stickiness = fields.Integer(
        "Session stickiness (minutes)", default=60,
        help="After a user texts a customer from this number, the customer's replies go to that user "
             "only, for this many minutes after the last message. 0 turns stickiness off.",
    )
    reformat_inbound = fields.Boolean(
        "Reformat inbound numbers", default=True,
        help="Normalise senders of inbound SMS to E.164 using this number's country before matching contacts.")
    reformat_outbound = fields.Boolean(
        "Reformat outbound numbers", default=True,
        help="Normalise destinations of outbound SMS to E.164 using the recipient's country, then this number's.")
    active = fields.Boolean(default=True)
    didww_did_id = fields.Char("DIDWW DID id", readonly=True, copy=False, index="btree_not_null")

    # opt-out keywords (see didww.sms.inbound._handle_opt_out)
    optout_keywords = fields.Char(
        "Opt-out keywords", default=sms_keywords.OPT_OUT_DEFAULT,
        help="An inbound SMS that is exactly one of these words (any case, punctuation ignored) puts the "
             "sender on the SMS blacklist. Separate them with commas.")
    optin_keywords = fields.Char(
        "Opt-in keywords", default=sms_keywords.OPT_IN_DEFAULT,
        help="An inbound SMS that is exactly one of these words takes the sender off the SMS blacklist.")
    optout_reply = fields.Text(
        "Opt-out confirmation",
        help="Texted back once from this number when a customer opts out. Empty: no reply.")
    optin_reply = fields.Text(
        "Opt-in confirmation",
        help="Texted back once from this number when a customer opts back in. Empty: no reply.")

    _sql_constraints = [
        ("number_company_unique", "unique(number, company_id)",
         "This DIDWW number already exists in this company."),
        ("stickiness_positive", "CHECK(session_stickiness >= 0)",
         "Session stickiness cannot be negative."),
    ]

    @api.depends("number", "name")
    def _compute_display_name(self):
        for record in self:
            record.display_name = f"{record.number} ({record.name})" if record.name else (record.number or "")

    # ------------------------------------------------------------
    # Normalisation
    # ------------------------------------------------------------

    def _normalize_vals(self, vals, record=None):
        if "number" not in vals and "country_id" not in vals:
            return vals
        raw = vals.get("number", record.number if record else False)
        country = self.env["res.country"].browse(vals["country_id"]) if vals.get("country_id") else (
            record.country_id if record and "country_id" not in vals else self.env["res.country"])
        e164 = self._didww_e164(raw, country) if raw else None
        if raw and not e164:
            raise ValidationError(self.env._(
                "%(number)s is not a valid phone number%(country)s. Select the number's country, or type "
                "it in international format (+ and country code).",
                number=raw, country=self.env._(" for %s", country.name) if country else ""))
        vals = dict(vals, number=e164)
        # an international number says its own country, over an empty or defaulted one
        international = raw and "number" in vals and raw.strip().startswith(("+", "00"))
        if e164 and (not country or international) and (number_country := self._didww_country_of(e164)):
            vals["country_id"] = number_country.id
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._normalize_vals(vals) for vals in vals_list]
        for vals in vals_list:
            self._check_not_registered(vals.get("number"), vals.get("company_id") or self.env.company.id)
        self.env.registry.clear_cache()  # _didww_numbers_of_company
        return super().create(vals_list)

    def write(self, vals):
        if "number" in vals or "country_id" in vals or "company_id" in vals:
            for record in self:
                record_vals = self._normalize_vals(vals, record)
                self._check_not_registered(record_vals.get("number", record.number),
                                           record_vals.get("company_id", record.company_id.id), record.id)
                super(DidwwSmsNumber, record).write(record_vals)
            result = True
        else:
            result = super().write(vals)
        if {"user_ids", "all_users", "company_id", "active"} & set(vals):
            self._didww_release_conversations()
        if {"number", "country_id", "company_id", "active"} & set(vals):
            self.env.registry.clear_cache()  # _didww_numbers_of_company
        return result

    def unlink(self):
        self.env.registry.clear_cache()  # _didww_numbers_of_company
        return super().unlink()

    def _didww_release_conversations(self):
        """End the hold of users who may no longer use these numbers on their conversations: their
        texts stop leaving from the numbers and the customers' replies go to the assigned users."""
        by_number, _users = self._assigned_users_by_number()
        # sudo: conversations are technical records; the administrator changed who has the numbers
        sessions_sudo = self.env["didww.sms.session"].sudo().search(
            [("number_id", "in", self.ids), ("user_id", "!=", False)])
        released = sessions_sudo.filtered(lambda session: not session.number_id.active or (
            by_number.get(session.number_id) and session.user_id not in by_number[session.number_id]))
        released.write({"user_id": False, "last_outbound": False})

    def _check_not_registered(self, number, company_id, exclude_id=None):
        """Refuse a number already in the company, with a message saying where (the SQL constraint
        stays as the backstop for concurrent inserts)."""
        domain = [("number", "=", number), ("company_id", "=", company_id)]
        if exclude_id:
            domain.append(("id", "!=", exclude_id))
        duplicate = self.with_context(active_test=False).sudo().search(domain, limit=1)
        if duplicate:
            raise ValidationError(self.env._(
                "The number %(number)s is already registered in %(company)s%(archived)s.",
                number=number, company=duplicate.company_id.name,
                archived=self.env._(" (archived)") if not duplicate.active else ""))

    def _format_remote(self, raw, outbound=False):
        """Normalise a customer's number as this DIDWW number is set to (E.164, or kept as it came)."""
        self.ensure_one()
        reformat = self.reformat_outbound if outbound else self.reformat_inbound
        if not reformat:
            return (raw or "").strip()
        return self._didww_e164_or_loose(raw, self.country_id)

    # ------------------------------------------------------------
    # Assignment and source selection
    # ------------------------------------------------------------

    def _assigned_users(self):
        """Users who send and receive through these numbers."""
        return self._assigned_users_by_number()[1]

    def _assigned_users_by_number(self):
        """``({number: users}, all those users)``, with one user search per company of the
        "All users" numbers."""
        Users = self.env["res.users"].sudo()
        company_users = {company: Users.search([("share", "=", False), ("company_ids", "in", company.ids)])
                         for company in self.filtered("all_users").company_id}
        by_number = {number: (number.user_ids | company_users.get(number.company_id, Users))
                     if number.all_users else number.user_ids for number in self}
        return by_number, Users.union(*by_number.values())

    @api.model
    def _find_by_number(self, company, raw):
        """The active number of ``company`` that ``raw`` (any format) designates, or an empty recordset.

        Each inbound SMS asks when it is stored: DIDWW's international spelling is matched first,
        from the company's numbers kept in memory (:meth:`_didww_numbers_of_company`), no query.
        """
        numbers = self._didww_numbers_of_company(company.id)
        international = self._didww_e164(raw)
        found = next((number_id for number_id, number, _country in numbers if number == international), None) \
            if international else None
        if found is None:
            e164 = self._didww_e164_or_loose(raw, company.country_id)
            found = next((number_id for number_id, number, _country in numbers if number == e164), None)
        if found is None:
            # national formats of a number of another country than the company's
            Country = self.env["res.country"]
            found = next((number_id for number_id, number, country_id in numbers
                          if self._didww_e164(raw, Country.browse(country_id)) == number), None)
        # sudo: as superuser, as the webhook (the public user) and the processing crons use it
        return self.sudo().browse(found) if found is not None else self.sudo().browse()

    @api.model
    @tools.ormcache("company_id")
    def _didww_numbers_of_company(self, company_id):
        """``((id, number, country id), ...)`` of the company's active numbers, in their order,
        kept in memory until a number changes (every Odoo process learns it at its next request)."""
        # sudo: the webhook runs as the public user; only the numbers are read
        numbers = self.sudo().search_fetch([("company_id", "=", company_id)], ["number", "country_id"])
        return tuple((number.id, number.number, number.country_id.id) for number in numbers)

    @api.model
    def _source_picker(self, company, destinations=()):
        """A :class:`SourcePicker` for ``company``: its numbers, their users and the live
        conversations with ``destinations`` read once for a whole batch of SMS."""
        numbers = self.sudo().search([("company_id", "=", company.id)])
        assigned, _users = numbers._assigned_users_by_number()
        live = self.env["didww.sms.session"]._live_by_remote(numbers, destinations)
        return SourcePicker(numbers, assigned, live)

    @api.model
    def _pick_source_with_reason(self, company, user, destination):
        """``(number, reason)`` for one SMS to ``destination``, reason as
        :meth:`SourcePicker.pick_with_reason` says, for telling people what will happen."""
        return self._source_picker(company, [destination] if destination else ()).pick_with_reason(
            user, destination)

    # ------------------------------------------------------------
    # DIDWW API v3 import
    # ------------------------------------------------------------

    @api.model
    def _action_import_from_didww(self):
        """Create or update the company's numbers from the DIDWW account's DIDs that can text.

        All DIDs are fetched before anything is written, so a network error leaves nothing half done.
        """
        company = self.env.company
        dids = company._didww_api_call(lambda client: client.dids(),
                                       self.env._("DIDWW numbers could not be imported"))
        textable = [did for did in dids if did["number"] and DidwwApiClient.can_text(did)]
        existing = {n.number: n for n in self.with_context(active_test=False).search([("company_id", "=", company.id)])}
        countries = {c.code: c for c in self.env["res.country"].search([])}
        created = updated = 0
        for did in textable:
            e164 = self._didww_e164(phone.from_wire(did["number"]))
            if not e164:
                _logger.info("DIDWW import: skipped %s, not a valid E.164 number", did["number"])
                continue
            vals = {"didww_did_id": did["id"]}
            if did["description"]:
                vals["name"] = did["description"][:64]
            if e164 in existing:
                existing[e164].write(vals)
                updated += 1
            else:
                country = countries.get(phone.country_of(e164))
                self.create(dict(vals, number=e164, country_id=country.id if country else False,
                                 company_id=company.id))
                created += 1
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("DIDWW numbers imported"),
                "message": self.env._(
                    "%(created)s created, %(updated)s updated, %(skipped)s of %(total)s DIDs cannot text.",
                    created=created, updated=updated, skipped=len(dids) - len(textable), total=len(dids)),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
