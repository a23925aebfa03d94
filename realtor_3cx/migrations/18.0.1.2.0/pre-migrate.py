# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The transcript's trigram index goes: the Calls list searches the words column instead
(``threecx_call.transcript_words``, made by the model's init), and Odoo keeps an index a
field no longer asks for."""


def migrate(cr, version):
    if not version:
        return
    cr.execute("DROP INDEX IF EXISTS threecx_call__transcript_index")
