# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The linters, as tests, so that `make test` counts them in its `N passed, N failed` line.

- ruff (``ruff.toml``) over the addon and the project tests;
- pylint with pylint-odoo's OCA mandatory checks (``.pylintrc-mandatory``) over the addon;
- oca-odoo-pre-commit-hooks' module checks (``oca-checks-odoo-module``: manifest, XML, CSV and
  demo data, as OCA's pre-commit runs them) over the addon, and its PO checks
  (``oca-checks-po``) over the addon's translations;
- prettier (``.prettierrc.json``: Odoo's JS style, 4 spaces, 100 columns) over the addon's JS.

The Python ones run from the Python that runs the tests (the project's ``.venv``, where
requirements.txt pins them). A missing linter is a failure, never a skip. To run one by hand::

    .venv/bin/ruff check realtor_3cx tests
    .venv/bin/pylint --rcfile=.pylintrc-mandatory realtor_3cx
    .venv/bin/oca-checks-odoo-module realtor_3cx
    .venv/bin/oca-checks-po --disable=po-pretty-format realtor_3cx/i18n/*.po*
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_linter(module, *args):
    """Run ``python -m <module> <args>`` in the checkout; return (exit code, its output)."""
    assert importlib.util.find_spec(module) is not None, (
        f"{module} is not installed in {sys.prefix}: it is pinned in requirements.txt "
        "(make test reinstalls .venv when that file changes)"
    )
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_ruff():
    # Explicit paths: .data/ may hold a downloaded Odoo, which is not ours to lint.
    rc, output = run_linter("ruff", "check", "--no-cache", "realtor_3cx", "tests")
    assert rc == 0, f"ruff found problems (ruff check realtor_3cx tests):\n{output}"


def test_pylint_odoo_mandatory():
    assert importlib.util.find_spec("pylint_odoo") is not None, "pylint-odoo is not installed"
    rc, output = run_linter("pylint", "--rcfile=.pylintrc-mandatory", "realtor_3cx")
    assert rc == 0, (
        "pylint-odoo's mandatory checks failed "
        f"(pylint --rcfile=.pylintrc-mandatory realtor_3cx, exit {rc}):\n{output}"
    )


def test_oca_checks_odoo_module():
    # Every check enabled, as OCA's pre-commit config has them (it disables none of this hook's).
    rc, output = run_linter("oca_pre_commit_hooks", "realtor_3cx")
    assert rc == 0, (
        f"oca-checks-odoo-module found problems (oca-checks-odoo-module realtor_3cx, exit {rc}):"
        f"\n{output}"
    )


def test_oca_checks_po():
    # As OCA's pre-commit config runs it: po-pretty-format is left to the translation tools
    # (it rejects a msgstr equal to its msgid, which Odoo's own exports keep).
    i18n = ROOT / "realtor_3cx" / "i18n"
    files = sorted(str(path.relative_to(ROOT)) for path in i18n.glob("*.po*"))
    assert any(f.endswith(".pot") for f in files) and any(f.endswith(".po") for f in files), (
        f"realtor_3cx/i18n should hold the pot and at least one translation, found {files}"
    )
    rc, output = run_linter("oca_pre_commit_hooks.cli_po", "--disable=po-pretty-format", *files)
    assert rc == 0, f"oca-checks-po found problems in {files} (exit {rc}):\n{output}"


def test_prettier_js():
    # Installed by tests/devenv.py (npm registry, pinned there) and handed over in the
    # environment: without it the JS goes unchecked, which is a failure.
    prettier = os.environ.get("REALTOR_3CX_PRETTIER", "")
    assert prettier and Path(prettier).exists(), (
        "prettier is missing: run the tests with `make test`, which installs it into .data/npm"
    )
    proc = subprocess.run(
        [prettier, "--check", "realtor_3cx/static/**/*.js"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, (
        "prettier (.prettierrc.json, Odoo's JS style) wants to reformat "
        f"(.data/npm/node_modules/.bin/prettier --write 'realtor_3cx/static/**/*.js'):\n"
        f"{proc.stdout}{proc.stderr}"
    )
