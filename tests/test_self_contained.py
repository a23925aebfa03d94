# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The repository carries everything its code, tests and docs need.

A user's clone has nothing beside it, so no tracked file may point outside the repository,
and a fresh clone, put where no reading material sits next to it, must pass the tests that
validate against 3CX's XAPI schemas (they read ``docs/3cx/xapi-schemas.json``). The 3CX facts
the code cites are in ``docs/3cx-api.md``; every ``§N`` cited must exist there.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import devenv

ROOT = Path(__file__).resolve().parents[1]
# Spelt in pieces, so that this file does not match what it looks for.
OUTSIDE = ("../" + "shared", "shared" + "/3cx", "/work/" + "shared")
# The suites that validate bodies against the XAPI schemas, plus the OData engine they use.
CLONE_SUITE = (
    "tests/test_xapi_schema.py",
    "tests/test_threecx_client.py",
    "tests/test_recordings_sim.py",
    "tests/test_odata.py",
)
MIN_PASSED = 200  # about 250 today: far fewer means the suites were not collected
SECTION_CITATION = re.compile(r"3cx-api\.md,? §(\d+)(?:-(\d+))?")

# Runs pytest with an audit hook that records every file or folder opened outside the clone
# in the places the clone must not depend on: the reading material beside this checkout (or
# beside the clone) and this checkout itself, apart from its virtualenv and downloads.
_WATCHED_PYTEST = """
import json, os, sys
forbidden, allowed, report = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
opened = []

def inside(path, folder):
    return path == folder or path.startswith(folder + os.sep)

def hook(event, args):
    if event not in ("open", "os.listdir", "os.scandir") or not args:
        return
    path = args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return
    path = os.path.normpath(os.path.join(os.getcwd(), path))
    if any(inside(path, f) for f in forbidden) and not any(inside(path, a) for a in allowed):
        opened.append(path)

sys.addaudithook(hook)
import pytest
code = pytest.main(sys.argv[4:])
with open(report, "w", encoding="utf-8") as handle:
    json.dump(sorted(set(opened)), handle)
sys.exit(code)
"""


def git(*args, cwd=ROOT):
    result = subprocess.run(
        ["git", "-c", "safe.directory=*", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return result


def test_no_tracked_file_points_outside_the_repository():
    # git grep reads the working tree's version of every tracked file (edits included).
    args = ["grep", "-n", "-I", "-F"]
    for pattern in OUTSIDE:
        args += ["-e", pattern]
    result = git(*args)
    assert result.returncode in (0, 1), f"git grep failed: {result.stderr}"
    assert result.returncode == 1, (
        "tracked files refer to reading material outside the repository (a clone has none):\n"
        + result.stdout
    )
    # The same search does find what is there: the code cites the in-repository facts.
    found = git("grep", "-l", "-I", "-F", "-e", "docs/3cx-api.md")
    assert found.returncode == 0 and "realtor_3cx/threecx/rest.py" in found.stdout.split()


def test_every_cited_section_of_the_3cx_facts_exists():
    doc = (ROOT / "docs" / "3cx-api.md").read_text(encoding="utf-8")
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", doc, flags=re.MULTILINE)}
    assert sections == set(range(1, max(sections) + 1)), sorted(sections)
    listing = git("ls-files", "-z")
    assert listing.returncode == 0, listing.stderr
    cited, missing = 0, []
    for name in filter(None, listing.stdout.split("\0")):
        path = ROOT / name
        if path.suffix not in (".py", ".md", ".txt", ".xml", ".js", ".rst") or not path.is_file():
            continue
        for match in SECTION_CITATION.finditer(path.read_text(encoding="utf-8")):
            first, last = int(match[1]), int(match[2] or match[1])
            cited += 1
            missing += [f"{name}: §{n}" for n in range(first, last + 1) if n not in sections]
    assert cited >= 10, "the code cites docs/3cx-api.md in a dozen places"
    assert not missing, f"sections cited but absent from docs/3cx-api.md: {missing}"


def test_a_clone_with_nothing_beside_it_passes_the_schema_suites():
    """Clone HEAD into a fresh temporary folder and run the schema suites there.

    What is tested is the **committed** state (``git rev-parse HEAD`` of this checkout):
    uncommitted edits are not in the clone, so commit before relying on this test. The clone
    goes to a new ``tempfile.mkdtemp()`` folder whose only entry is the clone, because CI
    itself runs in a fresh clone that may have reading material beside it; the suites run with
    this virtualenv's Python (``sys.executable -m pytest -p no:odoo``), under an audit hook
    that fails the test if they open anything beside either checkout or in this checkout
    (its ``.venv`` and ``.data`` excepted). The folder is removed afterwards, pass or fail.
    """
    head = git("rev-parse", "HEAD")
    assert head.returncode == 0, f"not a git checkout: {head.stderr}"
    head = head.stdout.strip()
    parent = Path(tempfile.mkdtemp(prefix="realtor_3cx-clone-"))
    try:
        clone = parent / "realtor_3cx"
        cloned = git("clone", "--quiet", "--no-hardlinks", ROOT, clone, cwd=parent)
        assert cloned.returncode == 0, cloned.stderr
        checkout = git("checkout", "--quiet", "--detach", head, cwd=clone)
        assert checkout.returncode == 0, checkout.stderr
        assert git("rev-parse", "HEAD", cwd=clone).stdout.strip() == head
        assert sorted(p.name for p in parent.iterdir()) == ["realtor_3cx"]
        assert not (clone / ".venv").exists(), "a clone holds committed files only"

        report, junit = parent / "opened.json", parent / "junit.xml"
        forbidden = [str(ROOT.parent / "shared"), str(parent / "shared"), str(ROOT)]
        allowed = [str(ROOT / ".venv"), str(ROOT / ".data")]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        result = subprocess.run(
            [sys.executable, "-c", _WATCHED_PYTEST, json.dumps(forbidden), json.dumps(allowed),
             str(report), "-p", "no:odoo", "-p", "no:cacheprovider", "-q",
             f"--junitxml={junit}", *CLONE_SUITE],
            cwd=clone, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        tail = (result.stdout + result.stderr)[-3000:]
        passed, failed, skipped = devenv.junit_counts(junit)
        assert result.returncode == 0 and failed == 0, f"the clone's suites failed:\n{tail}"
        assert not skipped, f"skipped in the clone: {skipped}"
        assert passed >= MIN_PASSED, f"only {passed} tests ran in the clone:\n{tail}"
        opened = json.loads(report.read_text(encoding="utf-8"))
        assert opened == [], f"the clone's tests read files outside the clone: {opened[:10]}"
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    assert not parent.exists()
