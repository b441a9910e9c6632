from odoo import api, fields, models


class DidwwVoipCredential(models.Model):
    """A user's VoIP secret, kept apart from ``res.users``.

    No access right opens this model to anyone but administrators, and no field of any other model
    points to it: no domain, ``order``, ``read_group`` or related path run by another user can reach a
    secret, whichever model it starts from. The owner reads and writes their own secret through
    ``res.users.didww_voip_secret``, a computed field that is not stored (so neither searchable nor
    sortable) and is evaluated for the owner's and administrators' requests only.
    """

    _name = "didww.voip.credential"
    _description = "DIDWW VoIP secret of a user"
    _rec_name = "user_id"

    # administrators only (access rights), who read every user; no other model points here
    user_id = fields.Many2one("res.users", required=True, index=True, ondelete="cascade")
    secret = fields.Char(required=True)

    _sql_constraints = [
        ("user_uniq", "unique(user_id)", "A user has one VoIP secret."),
    ]

    @api.model
    def _adopt_legacy_column(self):
        """Move secrets stored by version 18.0.1.0.0 in ``res_users.didww_voip_secret`` into this
        model, then drop that column (called by the 18.0.1.1.0 migration)."""
        cr = self.env.cr
        cr.execute("""SELECT 1 FROM information_schema.columns
                       WHERE table_name = 'res_users' AND column_name = 'didww_voip_secret'""")
        if not cr.fetchone():
            return 0
        cr.execute("""
            INSERT INTO didww_voip_credential (user_id, secret, create_uid, create_date, write_uid, write_date)
                 SELECT id, didww_voip_secret, %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
                   FROM res_users
                  WHERE didww_voip_secret IS NOT NULL AND didww_voip_secret != ''
            ON CONFLICT (user_id) DO NOTHING
        """, {"uid": self.env.uid})
        adopted = cr.rowcount
        cr.execute("ALTER TABLE res_users DROP COLUMN didww_voip_secret")
        self.env["res.users"].invalidate_model(["didww_voip_secret"])
        return adopted
