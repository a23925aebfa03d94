# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

# Odoo loads this package as ``odoo.addons.realtor_3cx``. The simulator and the worker run it as
# plain ``realtor_3cx`` (``python -m realtor_3cx.threecx.simulator``) and must not pull in the ORM.
if __name__.startswith("odoo.addons."):
    from . import controllers
    from . import models
    from . import tools
    from .hooks import post_init_hook, pre_init_hook, uninstall_hook
