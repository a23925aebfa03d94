# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Under pytest-odoo (``make test``), an addon test during which Odoo logs an ERROR fails.

Odoo's own runner reports an ERROR logged during a test only in its log, where Odoo's and the
OCA's CI look for it and fail the build; pytest-odoo does not look, so the test would pass. An
error a test provokes on purpose is muted as in Odoo (``odoo.tools.mute_logger`` or
``assertLogs``): muted records never reach the root logger, where this handler listens.

It lives here rather than in ``realtor_3cx/tests/``: pytest imports the conftest of a folder it
is given before pytest-odoo can make ``realtor_3cx`` importable as ``odoo.addons.realtor_3cx``.
The project tests (``tests/``) have their own, wider check (``tests/conftest.py``).
"""

import logging
import sys
from pathlib import Path

import pytest

PROJECT_TESTS = Path(__file__).resolve().parent / "tests"


class _ErrorsLogged(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def take(self):
        found, self.records = self.records, []
        return found


ERRORS = _ErrorsLogged()


# Odoo gives Chrome 10 s to open its DevTools port, then *skips* the tour or Hoot test; on a
# loaded 2-core machine Chrome can take longer, and a skip counts as failed here. A minute.
BROWSER_START_ITERATIONS = 600


def pytest_configure(config):
    logging.getLogger().addHandler(ERRORS)


def pytest_unconfigure(config):
    logging.getLogger().removeHandler(ERRORS)


def _check(when):
    found = ERRORS.take()
    if found:
        lines = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in found)
        raise AssertionError(f"Odoo logged {len(found)} error(s) {when}:\n{lines}")


def _checked(item):
    return PROJECT_TESTS not in Path(item.path).parents


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    ERRORS.take()  # what happened before this test is not its doing
    # The addon's test modules have imported Odoo's test framework by now (importing it
    # elsewhere, outside test mode, would log an ERROR).
    common = sys.modules.get("odoo.tests.common")
    if common is not None:
        common.CHECK_BROWSER_ITERATIONS = max(common.CHECK_BROWSER_ITERATIONS,
                                              BROWSER_START_ITERATIONS)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        result = yield
    except BaseException:
        if _checked(item):
            _check("during the test (which also failed by itself)")
        raise
    if _checked(item):
        _check("during the test")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    if _checked(item):
        _check("while tearing the test down")
    ERRORS.take()
    return result
