# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Project-level tests: plain Python, run without pytest-odoo.

The addon's plain-Python packages (``realtor_3cx.tools``, later ``realtor_3cx.threecx``) must be
importable without Odoo. Importing ``realtor_3cx`` normally runs its ``__init__``, which loads
the Odoo models, so the package is registered here as a bare namespace over the same folder.

Every test fails when, during it, a watched browser page logged a console error or threw an
uncaught exception, or a watched log got an ERROR record or a traceback (``browser_env.WATCH``:
Chromium launched by ``browser_env.launch``, Odoo started by ``browser_env.odoo_server``,
``worker_env.Worker`` processes, and the Odoo loaded in this process). A test that provokes a
known error on purpose names it, and only it: ``@pytest.mark.tolerates("regex", why="...")``.
"""

import logging
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

if "realtor_3cx" not in sys.modules:
    package = types.ModuleType("realtor_3cx")
    package.__path__ = [str(ROOT / "realtor_3cx")]
    sys.modules["realtor_3cx"] = package

import browser_env  # noqa: E402 (needs the namespace above)
import worker_env  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "tolerates(*patterns, why): errors this test provokes on purpose, and why")
    logging.getLogger("odoo").addHandler(browser_env.WATCH)
    worker_env.Worker.on_start.append(
        lambda worker: browser_env.WATCH.log(worker.log_path, "the worker's log"))


def _check(item, when):
    found = browser_env.WATCH.take()
    for marker in item.iter_markers("tolerates"):
        assert marker.kwargs.get("why"), "say why the test tolerates these errors: why=..."
        found = [f for f in found if not any(re.search(p, f) for p in marker.args)]
    if found:
        raise AssertionError(f"{len(found)} error(s) {when}, outside the test's own "
                             "assertions:\n\n" + "\n\n".join(found))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        result = yield
    except BaseException:
        _check(item, "during the test (which also failed by itself)")
        raise
    _check(item, "during the test")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    _check(item, "while tearing the test down")
    return result
