# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""do_not_call becomes the consent ledger's state: remember who had it ticked, before the
field turns computed (post-migrate.py writes their revocations)."""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """CREATE TABLE IF NOT EXISTS realtor_3cx_do_not_call_before_ledger AS
           SELECT id FROM res_partner WHERE do_not_call"""
    )
