import hashlib

from markupsafe import Markup

from odoo import api, models

from ..tools import sms_keywords
from .didww_sms_inbound_batch import POST_DEFAULT, InboundBatch


class DidwwSmsInbound(models.AbstractModel):
    """Inbound routing: an SMS a customer texted to a DIDWW number, to the document it belongs to.

    The conversation of the number and the sender says where (its live sticky document, else the
    sender's contact, else their open lead, else a new contact) and whom to notify (the holder of a
    sticky conversation, else the number's users, among those who may read the document). A text
    that is an opt-out or opt-in keyword of the number (STOP / START) also moves the sender on or
    off Odoo's SMS blacklist. A processing batch routes its SMS together (:class:`InboundBatch`).
    """

    _name = "didww.sms.inbound"
    _description = "DIDWW inbound SMS routing"

    @api.model
    def _batch(self, deliveries, alone=False):
        """An :class:`InboundBatch` for ``deliveries``, ``[(event, number, sms)]``."""
        return InboundBatch(self, deliveries, alone=alone)

    @api.model
    def _lock_senders(self, senders):
        """Serialise the texts of each sender, ``(company, remote)``, so that a new sender gets one
        contact. Return the ``(company id, remote)`` of those another transaction holds.

        Waiting for a lock would not be enough: this transaction's snapshot predates what the
        holder commits (a new contact). A busy sender's text raises :class:`ConversationBusy`
        instead, and is processed again, with a fresh snapshot, after the holder commits.
        """
        keys = {self._sender_lock_key(company, remote): (company.id, remote) for company, remote in senders}
        if not keys:
            return set()
        self.env.cr.execute("SELECT key FROM unnest(%s::bigint[]) AS key WHERE NOT pg_try_advisory_xact_lock(key)",
                            [list(keys)])
        return {keys[key] for (key,) in self.env.cr.fetchall()}

    @api.model
    def _sender_lock_key(self, company, remote):
        digest = hashlib.sha256(f"didww:{company.id}:{remote}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    @api.model
    def _find_targets(self, remotes, company):
        """``{remote: (record, author partner)}`` for the ``remotes`` of ``company`` that have a
        contact, else an open lead (the target of a text outside a live sticky conversation)."""
        partners = self.env["res.partner"]._didww_find_by_phones(remotes, company)
        targets = {remote: (partner, partner) for remote, partner in partners.items()}
        left = [remote for remote in remotes if remote not in targets]
        if left:
            leads = self.env["crm.lead"].sudo().search([
                ("phone_sanitized", "in", left), ("company_id", "in", [False, company.id]),
                ("active", "=", True), ("stage_id.is_won", "=", False),
            ], order="create_date DESC")
            for lead in leads:
                targets.setdefault(lead.phone_sanitized, (lead, lead.partner_id or None))
        return targets

    @api.model
    def _create_contact(self, remote):
        """A new contact for a sender nobody knows, named after their number."""
        # sudo: inbound texts are filed on any contact or lead of the company, whoever reads them;
        # no "Contact created" note: the SMS posted on it right after says where it came from
        return self.env["res.partner"].sudo().with_context(mail_create_nolog=True).create({
            "name": remote, "phone": remote, "country_id": self._didww_country_of(remote).id,
        })

    @api.model
    def _post_values(self, records):
        """``{(model, id): values}``: what ``message_post`` looks up for each of ``records`` (all of
        one model), computed for all at once as it would for each (its reply-to default, the
        author's address, is :data:`POST_DEFAULT`)."""
        company = self.env.company
        alias_domains = records._mail_get_alias_domains(default_company=company)
        companies = records._mail_get_companies(default=company)
        reply_to = records._notify_get_reply_to(default=POST_DEFAULT)
        return {(records._name, record.id): {
            "record_name": record.display_name,
            "record_alias_domain_id": alias_domains[record.id].id,
            "record_company_id": companies[record.id].id,
            "reply_to": reply_to[record.id],
        } for record in records}

    # ------------------------------------------------------------
    # Opt-out keywords (STOP / START)
    # ------------------------------------------------------------

    @api.model
    def _handle_opt_out(self, session, text, record=None):
        """Act on an inbound SMS of ``session`` whose whole text is an opt-out or opt-in keyword of
        its number.

        Opt-out puts the customer on Odoo's ``phone.blacklist`` (honoured by mass SMS, SMS
        templates and automated actions), opt-in takes them off; both are noted on ``record``'s
        chatter. The number's confirmation text, if any, is texted back only when the customer's
        state changed, so a STOP delivered twice gets one reply. Return ``"out"``, ``"in"`` or ``None``.
        """
        session.ensure_one()
        number = session.number_id
        kind = sms_keywords.match(text, number.optout_keywords, number.optin_keywords)
        if not kind:
            return None
        remote = number._didww_e164(session.remote_number, number.country_id)
        keyword = sms_keywords.normalize(text)
        record = record or self.env["didww.sms.document"]._didww_document(session.res_model, session.res_id)
        if not remote:
            # a short code or an alphanumeric sender: nothing Odoo could text, nothing to blacklist
            if record:
                record.sudo()._message_log(body=self.env._(
                    "%(remote)s texted %(keyword)s, but it is not a phone number the SMS blacklist can hold.",
                    remote=session.remote_number, keyword=keyword))
            return kind
        # sudo: the webhook runs as the public user; the blacklist is a technical list
        Blacklist = self.env["phone.blacklist"].sudo()
        changed = (Blacklist._didww_opt_out(remote, keyword, number) if kind == "out"
                   else Blacklist._didww_opt_in(remote, keyword, number))
        if record:
            if kind == "out":
                note = self.env._(
                    "%(remote)s texted %(keyword)s to %(number)s: they no longer receive mass or automated SMS "
                    "(SMS blacklist).", remote=remote, keyword=keyword, number=number.number)
            else:
                note = self.env._("%(remote)s texted %(keyword)s to %(number)s: removed from the SMS blacklist.",
                                  remote=remote, keyword=keyword, number=number.number)
            if not changed:
                note = self.env._("%(note)s (Already the case: nothing changed.)", note=note)
            record.sudo()._message_log(body=Markup("<p>{}</p>").format(note))
        reply = number.optout_reply if kind == "out" else number.optin_reply
        if changed and reply and reply.strip() and record:
            self._send_confirmation(session, record, remote, reply.strip())
        return kind

    @api.model
    def _send_confirmation(self, session, record, remote, text):
        """Text ``text`` to ``remote`` from ``session``'s number, logged on ``record``."""
        # sudo: posted by the system on behalf of the number, whatever user processes the webhook
        message = record.sudo().with_context(mail_create_nosubscribe=True)._message_sms(
            text, partner_ids=[], sms_numbers=[remote], author_id=self.env.ref("base.partner_root").id,
            put_in_queue=True)
        sms_sudo = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
        sms_sudo.write({"didww_source": session.number_id.number})  # leaves from the number the customer texted
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
        return sms_sudo
