from odoo import models


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def _run_action_sms_multi(self, eval_context=None):
        # automated SMS in "SMS (with note)" mode skip opted-out numbers, as mass mode already does
        return super(IrActionsServer, self.with_context(didww_skip_blacklisted=True))._run_action_sms_multi(
            eval_context=eval_context)
