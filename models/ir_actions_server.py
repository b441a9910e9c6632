from odoo import models


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def _run_action_sms_multi(self, eval_context=None):
        """"SMS (with note)" for documents of a company sending through DIDWW: sent as mass SMS
        logged on each document with its status, so that, like Odoo's mass SMS, blacklisted and
        opted-out numbers are skipped and a document without a valid number does not stop the
        whole action (Odoo's comment mode raises on it), and, like a posted SMS, each message
        shows its SMS status and can be resent."""
        records = (eval_context or {}).get("records") or (eval_context or {}).get("record")
        if (self.sms_method != "comment" or not self.sms_template_id or self._is_recompute() or not records
                or not self.env["sms.composer"]._didww_sends_mass(records)):
            # elsewhere, automated SMS in "SMS (with note)" mode skip opted-out numbers too, as
            # mass mode already does (sms.composer._action_send_sms_comment)
            return super(IrActionsServer, self.with_context(didww_skip_blacklisted=True))._run_action_sms_multi(
                eval_context=eval_context)
        composer = self.env["sms.composer"].with_context(
            default_res_model=records._name,
            default_res_ids=records.ids,
            default_composition_mode="mass",
            default_template_id=self.sms_template_id.id,
            default_mass_keep_log=True,
        ).create({})
        composer._action_send_sms()
        return False
