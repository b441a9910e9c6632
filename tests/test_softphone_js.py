from odoo.addons.web.tests import test_js
from odoo.tests import HttpCase, tagged

from .kamailio_server import require_browser


def hoot_job_id(name):
    """Hoot's id of a suite or test (as web's HOOTCommon computes it for its URL filters)."""
    value = 0
    for char in name:
        value = ((value << 5) - value + ord(char)) & 0xFFFFFFFF
    return f"{value:08x}"


@tagged("post_install", "-at_install", "didww_connector", "-standard", "didww_connector_browser")
class TestSoftphoneUnitJs(HttpCase):

    def test_softphone_hoot_unit_tests_pass_in_a_browser(self):
        """static/tests/*.test.js (the softphone against a fake SIP user agent), run by Hoot."""
        require_browser()  # Odoo's browser_js would skip silently
        self.browser_js(
            f"/web/tests?headless&loglevel=2&preset=desktop&timeout=15000&id={hoot_job_id('@didww_connector')}",
            "", "", login="admin", timeout=300, success_signal="[HOOT] Test suite succeeded",
            error_checker=test_js.unit_test_error_checker)
