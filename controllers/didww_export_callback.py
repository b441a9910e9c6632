import logging

from odoo import http
from odoo.http import request

from ..models.didww_cdr_export import CALLBACK_ROUTE
from ..tools.didww_callback_signature import is_valid

_logger = logging.getLogger(__name__)
MAX_CALLBACK_BYTES = 16 * 1024


class DidwwExportCallbackController(http.Controller):

    @http.route([f"{CALLBACK_ROUTE}/<int:company_id>"], type="http", auth="public", methods=["GET", "POST"],
                csrf=False, save_session=False)
    def didww_cdr_export_done(self, company_id, **_kwargs):
        """DIDWW's signed callback of a completed export (``X-DIDWW-Signature``): wakes the import
        up; the import then reads the export from DIDWW (the callback itself is only a hint)."""
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > MAX_CALLBACK_BYTES:
            return self._answer(413, "body too large")
        httprequest.max_content_length = MAX_CALLBACK_BYTES
        # sudo: the route is public; the signature, checked with the company's secret, authenticates DIDWW
        company_sudo = request.env["res.company"].sudo().search_fetch(
            [("id", "=", company_id)], ["didww_callback_secret", "didww_cdr_import"])
        url = company_sudo._didww_cdr_callback_url() if company_sudo else None
        if not url:
            return self._answer(404, "no export callback is configured for this company")
        if httprequest.method == "GET":
            payload = dict(httprequest.args.items())
            if httprequest.query_string:
                url = f"{url}?{httprequest.query_string.decode('latin-1')}"
        else:
            payload = dict(httprequest.form.items())
        if not is_valid(company_sudo.didww_callback_secret, url, payload,
                        httprequest.headers.get("X-DIDWW-Signature", "")):
            _logger.info("DIDWW export callback for company %s: wrong or missing signature", company_id)
            return self._answer(403, "wrong or missing X-DIDWW-Signature")
        if not payload.get("id"):
            return self._answer(400, "the callback names no export (id)")
        if not request.env["didww.cdr.export"].sudo()._didww_callback(company_sudo, payload):
            return self._answer(404, "no export of this company is waiting under that id")
        return self._answer(200, None)

    @staticmethod
    def _answer(status, error):
        return request.make_json_response({"error": error} if error else {"status": "ok"}, status=status)
