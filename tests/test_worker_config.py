# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The worker's settings: odoo.conf's [realtor_3cx] section, then the environment."""

import subprocess
import sys
from pathlib import Path

import pytest

from realtor_3cx.worker.config import WorkerConfig

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_then_conf_then_environment(tmp_path):
    conf = tmp_path / "odoo.conf"
    conf.write_text("[options]\ndb_name = ignored\n[realtor_3cx]\nworker_batch_ms = 80\n"
                    "worker_databases = one, two\nworker_end_grace = 1.5\n")
    config = WorkerConfig.from_environ_or_config(
        str(conf), environ={"REALTOR_3CX_WORKER_BATCH_MS": "30"}, db_name="fallback")
    assert config.batch_ms == 30  # the environment wins
    assert config.databases == ("one", "two") and config.end_grace == 1.5
    assert config.lock_poll == 2.0  # untouched default
    bare = WorkerConfig.from_environ_or_config(None, environ={}, db_name="main")
    assert bare.databases == ("main",)


def test_a_bad_value_names_its_key(tmp_path):
    conf = tmp_path / "odoo.conf"
    conf.write_text("[realtor_3cx]\nworker_lock_poll = soon\n")
    with pytest.raises(ValueError, match="lock_poll='soon' is not valid"):
        WorkerConfig.from_environ_or_config(str(conf), environ={})


def test_the_command_refuses_to_guess_the_database(tmp_path):
    conf = tmp_path / "odoo.conf"
    conf.write_text("[options]\n")
    result = subprocess.run([sys.executable, "-m", "realtor_3cx.worker", "-c", str(conf)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "name the database" in result.stderr
