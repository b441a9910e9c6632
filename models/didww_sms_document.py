from odoo import api, models


class DidwwSmsDocument(models.AbstractModel):
    """The document an SMS, a conversation, a call or an inbound event belongs to: each keeps it as
    a model name and an id (``res_model``/``res_id``), and the document may since have been deleted."""

    _name = "didww.sms.document"
    _description = "DIDWW: the document an SMS belongs to"

    @api.model
    def _didww_document(self, model, res_id):
        """The document ``model``/``res_id`` designates, or ``None`` when there is none (any more)."""
        if not model or model not in self.env or not res_id:
            return None
        return self.env[model].browse(res_id).exists() or None

    @api.model
    def _didww_documents(self, sms_all):
        """``{sms id: document}`` for the ``sms.sms`` of ``sms_all`` whose document still exists,
        one query per model: the document the SMS was sent from, else its chatter message's."""
        wanted = {}
        for sms in sms_all:
            model = sms.didww_res_model or sms.mail_message_id.model
            res_id = sms.didww_res_id or sms.mail_message_id.res_id
            if model and res_id and model in self.env:
                wanted.setdefault(model, {})[sms.id] = res_id
        documents = {}
        for model, res_ids in wanted.items():
            existing = set(self.env[model].browse(set(res_ids.values())).exists().ids)
            documents.update({sms_id: self.env[model].browse(res_id)
                              for sms_id, res_id in res_ids.items() if res_id in existing})
        return documents

    @api.model
    def _didww_documents_of(self, holders):
        """``{holder: document}`` for the records of ``holders`` (anything with ``res_model`` and
        ``res_id``, e.g. conversations) whose document still exists, one query per model, as superuser."""
        wanted = {}
        for holder in holders:
            if holder.res_model and holder.res_id and holder.res_model in self.env:
                wanted.setdefault(holder.res_model, []).append(holder)
        documents = {}
        for model, of_model in wanted.items():
            # sudo: routing files texts on documents whatever user processes them
            existing = self.env[model].sudo().browse({holder.res_id for holder in of_model}).exists()
            documents.update({holder: existing.browse(holder.res_id) for holder in of_model
                              if holder.res_id in existing._ids})
        return documents
