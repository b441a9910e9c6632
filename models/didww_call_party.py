"""The other party of a call: who a number is, as the user may see them (issue #21).

The contact with the number, else the latest open lead with it, else, for an extension, the
colleague whose VoIP username it is. ``didww.call`` links the call to it (its contact and its
document, which its user reads in the call log) when the softphone logs a call, and the CDR import
(``didww_cdr_calls.py``) when it logs a call from DIDWW's records.
"""

from ..tools.phone import is_extension


def readable(record):
    """``record`` when its user may read it, else None: a call shows its contact's and its
    document's name to its user, so it never links what they may not open."""
    return record if record and record.has_access("read") else None


def partner_of(document):
    """The contact of ``document`` (a contact, or a document with one its user may read)."""
    if not document:
        return None
    if document._name == "res.partner":
        return document
    partner = document["partner_id"] if "partner_id" in document._fields else None
    return readable(partner)


def find_caller(env, number):
    """The contact with that number, else the latest open lead with it (as ``env``'s user sees them)."""
    if len(number.lstrip("+")) < 3:
        return None
    company_domain = [("company_id", "in", [False, env.company.id])]
    partner = env["res.partner"].search([("phone_mobile_search", "=", number), *company_domain], limit=1)
    if partner:
        return partner
    lead = env["crm.lead"].search([
        ("phone_mobile_search", "=", number), *company_domain, ("stage_id.is_won", "=", False),
    ], order="create_date DESC", limit=1)
    return lead or None


def find_party(env, number):
    """Who a number is: the contact or open lead with it (:func:`find_caller`, the addon's one
    phone normaliser), else, for an extension, the colleague whose VoIP username it is."""
    document = find_caller(env, number)
    if document or not number or not is_extension(number):
        return document
    colleague = env["res.users"].search([
        ("didww_voip_username", "=", number), ("share", "=", False),
        ("company_ids", "in", env.company.id)], limit=1)
    return colleague.partner_id or None
