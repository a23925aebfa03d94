# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One revocation entry ("import") per contact that was do-not-call before the ledger."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    if not version:
        return
    cr.execute("SELECT to_regclass('realtor_3cx_do_not_call_before_ledger')")
    if not cr.fetchone()[0]:
        return
    cr.execute("SELECT id FROM realtor_3cx_do_not_call_before_ledger ORDER BY id")
    ids = [row[0] for row in cr.fetchall()]
    env = api.Environment(cr, SUPERUSER_ID, {})
    partners = env["res.partner"].with_context(active_test=False).browse(ids).exists()
    partners._realtor_3cx_record_revocation(
        "import", note="Do-not-call before the consent ledger (migration to 18.0.1.1.0).")
    cr.execute("DROP TABLE realtor_3cx_do_not_call_before_ledger")
