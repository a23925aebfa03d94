# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Project-level tests: plain Python, run without pytest-odoo.

The addon's plain-Python packages (``realtor_3cx.tools``, later ``realtor_3cx.threecx``) must be
importable without Odoo. Importing ``realtor_3cx`` normally runs its ``__init__``, which loads
the Odoo models, so the package is registered here as a bare namespace over the same folder.
"""

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if "realtor_3cx" not in sys.modules:
    package = types.ModuleType("realtor_3cx")
    package.__path__ = [str(ROOT / "realtor_3cx")]
    sys.modules["realtor_3cx"] = package
