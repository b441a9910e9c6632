import re

from odoo import SUPERUSER_ID, api

# the note 18.0.1.3.0 posted on a blacklist entry: "Opted out by texting STOP to +1212... (DIDWW)."
ADDON_NOTE = re.compile(r"texting (?P<keyword>[^<]+?) to (?P<number>\+\d+) \(DIDWW\)")


def migrate(cr, version):
    """Opt-outs lived in Odoo's global SMS blacklist; they move into each company's consent ledger.

    An entry the addon made (its note names the DIDWW number texted) opts the number out of that
    number's company; any other active entry opts it out of every company that texts through
    DIDWW, as the blacklist applied to all of them. The entries stay on the blacklist, now kept by
    the ledger (``didww_consent``): as before, a START texted to a company's number takes the
    number back, for that company, and off the blacklist once no company has it opted out.
    """
    env = api.Environment(cr, SUPERUSER_ID, {})
    Number = env["didww.sms.number"].with_context(active_test=False)
    companies = env["res.company"].search([("didww_sms_active", "=", True)]) | Number.search([]).company_id
    if not companies:
        return
    Consent = env["didww.sms.consent"]
    for entry in env["phone.blacklist"].search([]):
        notes = env["mail.message"].search([("model", "=", "phone.blacklist"), ("res_id", "=", entry.id)],
                                           order="id DESC")
        found = next((match for match in (ADDON_NOTE.search(str(note.body or "")) for note in notes) if match), None)
        number = found and Number.search([("number", "=", found["number"])], limit=1)
        targets = number.company_id if number else companies
        for company in targets:
            Consent._didww_set(
                company, entry.number, "opted_out", "migrated", keyword=found["keyword"] if found else None,
                didww_number=found["number"] if found else None,
                origin=f"texting {found['keyword']} to {found['number']} (DIDWW), before consent was kept per company"
                if found else f"the SMS blacklist (entry of {str(entry.create_date or '')[:19]} UTC)")
        entry.didww_consent = True
