# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Plain-Python 3CX V20 code (no Odoo import): usable and testable alone."""
