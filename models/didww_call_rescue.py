"""Missed-call rescue: what an incoming call nobody answered leaves to act on (issue #21).

An unanswered incoming call (no answer, declined, busy, or interrupted before the answer) gives
the called user a "Call back" activity on the caller's contact or lead (a new contact when nobody
has the number, as inbound SMS do), and, where the company turns it on, a text to the caller from
the user's DIDWW number through Odoo's ``sms.sms`` queue: never to an opted-out number, once an
hour per caller. It runs for the called user whoever processes the call (the softphone, a cron,
a CDR import): ``didww.call._didww_schedule_call_back`` calls ``schedule_call_back``.
"""

from datetime import timedelta

from odoo import fields

from ..tools.phone import is_extension

# an incoming call ending so was not answered: the caller gets a call back (and maybe a text)
UNANSWERED_STATES = ("missed", "declined", "busy")
MISSED_CALL_SMS_EVERY = timedelta(hours=1)


def schedule_call_back(calls):
    """A "Call back" activity (one pending per caller) and maybe a text for each of ``calls``."""
    env = calls.env
    call_type = env.ref("mail.mail_activity_data_call", raise_if_not_found=False)
    for call in calls:
        document = call_back_document(call)
        if not document:
            continue
        user = call.user_id
        Activity = env["mail.activity"].sudo()  # sudo: the activity is the called user's
        pending = Activity.search_count([
            ("res_model", "=", document._name), ("res_id", "=", document.id),
            ("user_id", "=", user.id), ("activity_type_id", "=", call_type.id if call_type else False),
            ("summary", "=", env._("Call back")),
        ]) if call_type else 0
        if call_type and not pending:  # one call back per caller, however often they called
            document.sudo().activity_schedule(
                act_type_xmlid="mail.mail_activity_data_call", user_id=user.id,
                summary=env._("Call back"),
                note=env._("%(number)s called at %(when)s and was not answered.",
                           number=call.number, when=fields.Datetime.to_string(call.start)))
        if call.source == "softphone":  # a call found later in DIDWW's records is too old to text about
            text_missed_caller(call, document)
    return True


def call_back_document(call):
    """The caller's contact or lead for a call back; a new contact for an unknown phone number."""
    env = call.env
    # sudo: the caller's document is filed for the called user, whoever processes the call
    document = env["didww.sms.document"].sudo()._didww_document(call.res_model, call.res_id) or call.partner_id.sudo()
    if document and hasattr(document, "activity_schedule"):
        return document
    if not call.number.startswith("+") or is_extension(call.number):
        return None  # an extension or a hidden number: nobody to call back outside the PBX
    # as an inbound SMS from that number: its contact (in any format), else a new contact
    partner = env["res.partner"]._didww_find_by_phone(call.number, call.company_id)
    partner = partner or env["res.partner"].sudo().with_context(mail_create_nolog=True).create({
        "name": call.number, "phone": call.number,
        "country_id": env["didww.sms.number"]._didww_country_of(call.number).id,
    })
    # sudo: the call log is read-only for users; the new contact is the caller's
    call.sudo().write({"partner_id": partner.id, "res_model": "res.partner", "res_id": partner.id})
    return partner


def text_missed_caller(call, document):
    """Text the caller about the missed ``call`` (see ``schedule_call_back``): the sms.sms, or None
    when the company does not text missed callers, the number cannot or may not be texted, or the
    caller was texted within MISSED_CALL_SMS_EVERY."""
    env = call.env
    company = call.company_id
    text = (company.didww_missed_call_sms_text or "").strip()
    if not (company.didww_missed_call_sms and company.didww_sms_active and text):
        return None
    remote = env["didww.sms.number"]._didww_e164(call.number)
    if not remote or is_extension(remote):
        return None
    # sudo: the blacklist, the consent ledger and other users' call logs are technical lists;
    # a number opted out of another company only may be texted (see didww.sms.consent)
    if env["phone.blacklist"].sudo().search_count([("number", "=", remote), ("didww_consent", "=", False)]) \
            or env["didww.sms.consent"].sudo()._didww_opted_out(company, [remote]):
        return None
    recent = call.sudo().search_count([
        ("company_id", "=", company.id), ("number", "=", call.number),
        ("call_back_sms_at", ">=", fields.Datetime.now() - MISSED_CALL_SMS_EVERY)])
    if recent:
        return None
    source, _reason = env["didww.sms.number"]._pick_source_with_reason(company, call.user_id, remote)
    if not source:
        return None
    # sudo: posted on the caller's document on behalf of the called user, whoever processes
    # the call; the called user is the author, so the reply comes back to their conversation
    message = document.sudo().with_context(mail_create_nosubscribe=True)._message_sms(
        text, partner_ids=[], sms_numbers=[remote], author_id=call.user_id.partner_id.id, put_in_queue=True)
    sms_sudo = env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])
    sms_sudo.write({"didww_source": source.number, "didww_user_id": call.user_id.id})
    call.sudo().write({"call_back_sms_at": fields.Datetime.now()})  # sudo: the log is read-only for users
    env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
    return sms_sudo
