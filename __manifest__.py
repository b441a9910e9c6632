# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "DIDWW: SMS & VoIP",
    "summary": "Send and receive SMS through DIDWW numbers, track delivery, "
    "and configure DIDWW / phone.systems VoIP for your users.",
    "version": "18.0.1.2.0",
    "category": "Marketing/SMS Marketing",
    "website": "https://github.com/didww-connector/didww_connector",
    "author": "didww_connector contributors",
    "license": "LGPL-3",
    "depends": ["sms", "phone_validation", "crm"],
    "external_dependencies": {"python": ["requests", "phonenumbers"]},
    "data": [
        "security/didww_connector_security.xml",
        "security/ir.model.access.csv",
        "data/didww_voip_provider_data.xml",
        "data/ir_cron_data.xml",
        "data/sms_template_data.xml",
        "data/ir_actions_server_data.xml",
        "views/didww_sms_number_views.xml",
        "views/didww_sms_session_views.xml",
        "views/didww_webhook_event_views.xml",
        "views/didww_voip_provider_views.xml",
        "views/didww_call_views.xml",
        "views/res_config_settings_views.xml",
        "views/res_users_views.xml",
        "views/sms_sms_views.xml",
        "wizard/sms_composer_views.xml",
        "wizard/sms_resend_views.xml",
        "views/didww_menus.xml",
    ],
    "assets": {
        "web.assets_backend": ["didww_connector/static/src/**/*"],
        # JsSIP (251 KB) only for users whose softphone starts: loaded with loadBundle (sip_stack.js)
        "didww_connector.assets_jssip": ["didww_connector/static/lib/jssip/jssip.min.js"],
        "web.assets_tests": ["didww_connector/static/tests/tours/**/*"],
        "web.assets_unit_tests": ["didww_connector/static/tests/**/*.test.js"],
    },
}
