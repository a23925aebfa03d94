# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from .models.threecx_call_rollup import drop_rollup_functions


def pre_init_hook(env):
    # Created empty here, the E.164 columns (and do_not_call, the consent ledger's state,
    # empty at install) are not recomputed by the ORM for every partner in
    # one go at install; post_init_hook fills them in batches instead.
    env.cr.execute(
        """
        ALTER TABLE res_partner ADD COLUMN IF NOT EXISTS phone_e164 VARCHAR;
        ALTER TABLE res_partner ADD COLUMN IF NOT EXISTS mobile_e164 VARCHAR;
        ALTER TABLE res_partner ADD COLUMN IF NOT EXISTS do_not_call BOOLEAN;
        """
    )


def post_init_hook(env):
    env["res.partner"]._realtor_3cx_fill_e164()


def uninstall_hook(env):
    # The caller lookup's SQL function and the report roll-up's triggers are no ORM objects:
    # Odoo would leave them behind.
    env.cr.execute(
        "DROP FUNCTION IF EXISTS realtor_3cx_caller_lookup(text, text[]);"
        "DROP FUNCTION IF EXISTS realtor_3cx_caller_lookup(text, text[], integer)"
    )
    drop_rollup_functions(env.cr)
