# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Realtor 3CX Telephony",
    "summary": "Click-to-call, caller pop-ups and call logs for brokerages on 3CX",
    "version": "18.0.1.0.0",
    "category": "Sales/Telephony",
    "website": "https://github.com/realtor-3cx/realtor_3cx",
    "author": "realtor_3cx contributors",
    "license": "LGPL-3",
    "application": True,
    "installable": True,
    "depends": ["base", "web", "bus", "mail", "contacts", "phone_validation"],
    "external_dependencies": {"python": ["cryptography", "phonenumbers", "websocket-client"]},
    "data": [
        "security/realtor_3cx_security.xml",
        "security/ir.model.access.csv",
        "data/ir_sequence_data.xml",
        "views/threecx_server_views.xml",
        "views/threecx_call_views.xml",
        "views/realtor_property_views.xml",
        "views/res_partner_views.xml",
        "views/threecx_extension_views.xml",
        "views/res_users_views.xml",
        "views/res_config_settings_views.xml",
        "views/realtor_3cx_menus.xml",
    ],
    "demo": ["demo/realtor_3cx_demo.xml"],
    "pre_init_hook": "pre_init_hook",
    "post_init_hook": "post_init_hook",
    "assets": {
        "web.assets_tests": ["realtor_3cx/static/tests/tours/**/*"],
    },
}
