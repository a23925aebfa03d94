# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The docker files are valid (no Docker engine is needed to check a compose file)."""

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker" / "docker-compose.yml"


def compose_cmd():
    if (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail(
        "neither `docker compose` nor `docker-compose` is installed (make test installs it)"
    )


def config(env):
    return subprocess.run(
        [*compose_cmd(), "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_compose_file_is_valid_and_wires_the_services():
    env = dict(os.environ, REALTOR_3CX_SECRET_KEY="test-key")
    res = config(env)
    assert res.returncode == 0, res.stderr
    assert "postgres:15" in res.stdout
    assert "docker/Dockerfile" in res.stdout
    assert "--init=realtor_3cx" in res.stdout
    assert "test-key" in res.stdout
    # The worker: its own service, started with python -m, reaching the same database.
    assert "worker:" in res.stdout and "realtor_3cx.worker" in res.stdout
    assert "PGHOST: db" in res.stdout


def test_compose_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "REALTOR_3CX_SECRET_KEY"}
    res = config(env)
    assert res.returncode != 0
    assert "REALTOR_3CX_SECRET_KEY" in res.stderr


def test_dockerfile_builds_on_the_official_image_with_the_addon():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert [line for line in text.splitlines() if line.startswith("FROM")] == ["FROM odoo:18.0"]
    assert "COPY realtor_3cx /mnt/extra-addons/realtor_3cx" in text
    manifest = (ROOT / "realtor_3cx" / "__manifest__.py").read_text()
    # every Python library the addon declares is installed in the image (or shipped by it)
    shipped_by_image = {"cryptography"}
    declared = ast.literal_eval(manifest)["external_dependencies"]["python"]
    for lib in declared:
        assert lib in shipped_by_image or lib in text, lib
