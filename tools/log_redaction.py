"""Keep the webhook's secret and what DIDWW sends out of Odoo's access log (plain Python, no ORM).

The webhook URL carries the company's secret in its path, and DIDWW's HTTP IN trunk can send an
SMS (numbers and text) as query parameters: werkzeug's access line (``"GET /path?query HTTP/1.1"
200 -``) would write both to the log on every delivery. :class:`WebhookLogRedactor`, a logging
filter on the ``werkzeug`` logger, rewrites those lines only: the secret and the query string
become ``[redacted]``; every other line passes untouched.
"""

import logging
import re

REDACTED = "[redacted]"


class WebhookLogRedactor(logging.Filter):

    def __init__(self, route):
        super().__init__()
        self.route = route
        self._pattern = re.compile(re.escape(route) + r"/(\d+)/[^\s?\"'#]*(\?[^\s\"']*)?")

    def redact(self, text):
        return self._pattern.sub(lambda match: f"{self.route}/{match[1]}/{REDACTED}"
                                 + (f"?{REDACTED}" if match[2] else ""), text)

    def filter(self, record):
        if self.route in str(record.msg) or any(self.route in str(arg) for arg in record.args or ()):
            record.msg = self.redact(record.getMessage())
            record.args = ()
        return True


def install(route, logger_name="werkzeug"):
    """Add the redactor for ``route`` to ``logger_name`` (once per process, however often called)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, WebhookLogRedactor) and existing.route == route for existing in logger.filters):
        logger.addFilter(WebhookLogRedactor(route))
