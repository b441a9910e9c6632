from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """18.0.1.0.0 stored the VoIP secret on res_users, where related paths and ``order`` of other
    users could reach it; it now lives in didww.voip.credential (see that model)."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["didww.voip.credential"]._adopt_legacy_column()
