# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The development environment behind ``make run``, ``make test``, ``make bench`` and
``make soak``.

What
    Every set-up step a new machine needs, done in order and reused when already done:
    a Python virtualenv with ``requirements.txt`` and ``requirements-transcribe.txt`` (``.venv``),
    Odoo 18.0, Chromium, Debian's nginx-light, espeak-ng and sox (tests only), a private
    PostgreSQL cluster under ``.data/`` (unless ``odoo.conf`` or ``PGHOST`` points at a server),
    a database with realtor_3cx installed, then Odoo itself or the test suites.

How it works
    It uses only the standard library because it runs under the system ``python3`` before the
    virtualenv exists. Odoo is found, in this order: ``ODOO_SRC``; an ``odoo`` package the system
    Python or the virtualenv can already import; a copy downloaded earlier into ``.data/``; a
    download from Odoo's official source. The virtualenv is pointed at that source with a ``.pth``
    file, so Odoo is never copied into the checkout.

How to use
    ``python3 tests/devenv.py run|test|bench|soak [args]`` (the Makefile does this).

Caveats
    Root is fine: PostgreSQL then runs as the ``postgres`` system user, which has to be able to
    reach the data folder; when it cannot (a checkout under ``/root``), the cluster lives under
    ``/var/tmp`` instead and the set-up says so.
"""

import argparse
import base64
import configparser
import contextlib
import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
VENV = ROOT / ".venv"
ADDON = "realtor_3cx"
RUN_DB = "realtor_3cx"
# Benchmarks of plain-Python code: no database to prepare (transcribe has one: its hang-up to
# summary figure runs Odoo, the worker and Chromium).
NO_DATABASE_BENCHMARKS = {"client", "webrtc"}
# Optional for a user (the worker's local transcription), installed here for tests and benchmarks.
TRANSCRIBE_REQUIREMENTS = "requirements-transcribe.txt"
# The demo database's 3CX server points here (realtor_3cx/demo/realtor_3cx_demo.xml).
SIM_PORT = 5001
ODOO_GIT = "https://github.com/odoo/odoo.git"
ODOO_TARBALL = "https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz"
# Every outbound request of the set-up is bounded: a machine without internet fails fast.
TIMEOUT = 30
DEMO_LOGINS = [
    ("admin", "admin", "Settings admin: configures 3CX"),
    ("manager", "manager", "Telephony manager: sees every call"),
    ("demo", "demo", "Realtor (Marc Demo, extension 101)"),
]


class SetupError(Exception):
    """A set-up step cannot be done here; the message says what to do."""


def say(msg):
    print(f"realtor_3cx: {msg}", flush=True)


def sh(cmd, check=True, quiet=False, **kw):
    """Run ``cmd``; with ``quiet`` its output is shown only when it fails."""
    if quiet:
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
        if check and res.returncode:
            sys.stdout.write(res.stdout[-6000:])
            raise SetupError(f"`{' '.join(map(str, cmd))}` failed (exit {res.returncode})")
        return res
    res = subprocess.run(cmd, **kw)
    if check and res.returncode:
        raise SetupError(f"`{' '.join(map(str, cmd))}` failed (exit {res.returncode})")
    return res


def is_root():
    return os.geteuid() == 0


def apt_install(*packages):
    """Install Debian packages when we may; otherwise say exactly which command would."""
    hint = f"sudo apt-get install -y {' '.join(packages)}"
    if not (is_root() and shutil.which("apt-get")):
        raise SetupError(f"missing {', '.join(packages)}: install with `{hint}`")
    say(f"installing {' '.join(packages)} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if sh(["apt-get", "install", "-y", *packages], check=False, quiet=True, env=env).returncode:
        sh(["apt-get", "update"], check=False, quiet=True, env=env)
        if sh(["apt-get", "install", "-y", *packages], check=False, quiet=True, env=env).returncode:
            raise SetupError(f"could not install {', '.join(packages)}: try `{hint}`")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def digest(*paths):
    h = hashlib.sha256()
    for path in paths:
        files = (
            sorted(p for p in Path(path).rglob("*") if p.is_file())
            if Path(path).is_dir()
            else [Path(path)]
        )
        for f in files:
            if "__pycache__" in f.parts:
                continue
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


# --- Python ----------------------------------------------------------------------------------


def venv_python():
    return VENV / "bin" / "python"


def ensure_venv():
    """Create ``.venv`` and install the pinned requirements when they changed."""
    if sys.version_info[:2] != (3, 11):
        raise SetupError(
            f"the pinned requirements are for Python 3.11, this is {sys.version.split()[0]}: "
            "run with python3.11 (`make PYTHON=python3.11 ...`)"
        )
    stamp = VENV / ".requirements.sha256"
    wanted = digest(ROOT / "requirements.txt", ROOT / TRANSCRIBE_REQUIREMENTS)
    if venv_python().exists() and stamp.exists() and stamp.read_text() == wanted:
        return
    if not venv_python().exists():
        say("creating the Python environment in .venv")
        res = sh([sys.executable, "-m", "venv", str(VENV)], check=False, quiet=True)
        if res.returncode:
            shutil.rmtree(VENV, ignore_errors=True)
            apt_install("python3-venv")
            sh([sys.executable, "-m", "venv", str(VENV)], quiet=True)
    say("installing requirements.txt into .venv (about a minute the first time)")
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check"]
    sh([*pip, "install", "-q", "-r", str(ROOT / "requirements.txt")])
    # The worker's optional local speech to text: the tests and the benchmark use it.
    say(f"installing {TRANSCRIBE_REQUIREMENTS} into .venv (the speech-to-text engine, 160 MB)")
    sh([*pip, "install", "-q", "--require-hashes", "-r", str(ROOT / TRANSCRIBE_REQUIREMENTS)])
    sh([*pip, "check"], quiet=True)
    stamp.write_text(wanted)


# --- Odoo ------------------------------------------------------------------------------------


def odoo_version(src):
    release = Path(src) / "odoo" / "release.py"
    if not release.is_file():
        return None
    m = re.search(r"^version_info = \((\d+), (\d+)", release.read_text(), re.M)
    return (int(m.group(1)), int(m.group(2))) if m else None


def importable_odoo_src():
    """The source folder of an ``odoo`` package that this Python or the venv can import."""
    spec = importlib.util.find_spec("odoo")
    if spec and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0]).parent
    if venv_python().exists():
        code = (
            "import importlib.util as u; s = u.find_spec('odoo'); "
            "print(list(s.submodule_search_locations)[0] if s else '')"
        )
        out = subprocess.run(
            [str(venv_python()), "-c", code], capture_output=True, text=True
        ).stdout.strip()
        if out:
            return Path(out).parent
    return None


def download_odoo(target):
    """Fetch Odoo 18.0 Community from Odoo's official source into ``target``."""
    tmp = Path(tempfile.mkdtemp(prefix="odoo-src-", dir=DATA))
    try:
        if shutil.which("git"):
            say(f"downloading Odoo 18.0 from {ODOO_GIT} (a few minutes)")
            res = subprocess.run(
                [
                    "git",
                    "clone",
                    "--quiet",
                    "--depth",
                    "1",
                    "--branch",
                    "18.0",
                    ODOO_GIT,
                    str(tmp / "odoo"),
                ],
                env=dict(
                    os.environ,
                    GIT_HTTP_LOW_SPEED_LIMIT="1000",
                    GIT_HTTP_LOW_SPEED_TIME=str(TIMEOUT),
                ),
                capture_output=True,
                text=True,
            )
            if res.returncode == 0:
                (tmp / "odoo").rename(target)
                return
            say(f"git clone failed: {res.stderr.strip().splitlines()[-1:]}")
        say(f"downloading Odoo 18.0 from {ODOO_TARBALL}")
        archive = tmp / "odoo.tar.gz"
        with (
            urllib.request.urlopen(ODOO_TARBALL, timeout=TIMEOUT) as resp,
            archive.open("wb") as out,
        ):
            shutil.copyfileobj(resp, out)
        sh(["tar", "-xzf", str(archive), "-C", str(tmp)], quiet=True)
        unpacked = next(p for p in tmp.iterdir() if p.is_dir() and (p / "odoo-bin").exists())
        unpacked.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_odoo():
    """Return the Odoo 18.0 source folder and make the venv import it."""
    candidates = []
    if os.environ.get("ODOO_SRC"):
        candidates.append(("ODOO_SRC", Path(os.environ["ODOO_SRC"]).expanduser().resolve()))
    found = importable_odoo_src()
    if found:
        candidates.append(("an importable odoo package", found))
    downloaded = DATA / "odoo-18.0"
    candidates.append(("an earlier download", downloaded))
    src = None
    for origin, path in candidates:
        version = odoo_version(path)
        if version == (18, 0) and (path / "odoo-bin").exists():
            src = path
            break
        if origin != "an earlier download":
            found_version = ".".join(map(str, version)) if version else "none"
            raise SetupError(
                f"{origin} points at {path}, which is not Odoo 18.0 with odoo-bin "
                f"(version {found_version})"
            )
    if src is None:
        DATA.mkdir(exist_ok=True)
        try:
            download_odoo(downloaded)
        except (OSError, SetupError, StopIteration) as exc:
            raise SetupError(
                "Odoo 18.0 was not found and could not be downloaded "
                f"({exc.__class__.__name__}: {exc}). Do one of:\n"
                "  - set ODOO_SRC to an Odoo 18.0 source tree (git clone -b 18.0 --depth 1 "
                f"{ODOO_GIT}), or\n"
                "  - make `odoo` importable by python3 (pip install -e <odoo-18.0 source>), or\n"
                "  - run again with internet access so the set-up can download it."
            ) from None
        src = downloaded
    pth = (
        Path(
            subprocess.run(
                [
                    str(venv_python()),
                    "-c",
                    "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        / "realtor_3cx_odoo_src.pth"
    )
    if not pth.exists() or pth.read_text().strip() != str(src):
        pth.write_text(f"{src}\n")
    return src


def ensure_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    apt_install("chromium")
    if not shutil.which("chromium"):
        raise SetupError(
            "chromium is still missing after apt-get: "
            "install it with `sudo apt-get install -y chromium`"
        )
    return shutil.which("chromium")


def ensure_nginx():
    """Debian's nginx-light: the reverse proxy in front of prefork Odoo in the prefork test and
    benchmark (tests/prefork_env.py), as in production. Only its binary is used: the test runs
    its own nginx on loopback ports with a config of its own."""
    for path in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if path and Path(path).exists():
            return path
    apt_install("nginx-light")
    if not Path("/usr/sbin/nginx").exists():
        raise SetupError(
            "nginx is still missing after apt-get: install it with "
            "`sudo apt-get install -y nginx-light`"
        )
    return "/usr/sbin/nginx"


def ensure_speech_tools():
    """Debian's espeak-ng and sox: the transcription test and benchmark speak known text into
    8 kHz phone audio (tests/benchmarks/transcribe.py)."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        apt_install("espeak-ng", "sox")
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        raise SetupError("espeak-ng or sox is still missing after apt-get: install them with "
                         "`sudo apt-get install -y espeak-ng sox`")


PRETTIER = "prettier@2.8.8"  # the major version Odoo 18's own JS tooling formats with


def ensure_prettier():
    """Prettier for the JS lint test, from the npm registry into ``.data/npm`` (once)."""
    home = DATA / "npm"
    binary = home / "node_modules" / ".bin" / "prettier"
    stamp = home / ".version"
    if binary.exists() and stamp.exists() and stamp.read_text() == PRETTIER:
        return binary
    if not shutil.which("npm"):
        apt_install("nodejs", "npm")
    if not shutil.which("npm"):
        raise SetupError("npm is missing: install it with `sudo apt-get install -y nodejs npm`")
    say(f"installing {PRETTIER} into {home} (the JS lint test)")
    home.mkdir(parents=True, exist_ok=True)
    sh(["npm", "install", "--prefix", str(home), "--no-save", "--no-audit", "--no-fund",
        "--loglevel=error", PRETTIER], quiet=True)
    stamp.write_text(PRETTIER)
    return binary


def ensure_compose():
    """`docker compose` or the standalone `docker-compose`: only `config` is used (no engine)."""
    if (
        shutil.which("docker")
        and sh(["docker", "compose", "version"], check=False, quiet=True).returncode == 0
    ):
        return
    if shutil.which("docker-compose"):
        return
    apt_install("docker-compose")


# --- PostgreSQL ------------------------------------------------------------------------------


def read_conf():
    """``odoo.conf`` of the checkout, as committed."""
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(ROOT / "odoo.conf")
    return conf


def conf_value(conf, key):
    value = conf.get("options", key, fallback="").strip()
    return "" if value in ("", "False", "None") else value


def external_server(conf):
    """Connection settings when odoo.conf or the environment names a PostgreSQL server."""
    host = os.environ.get("PGHOST") or conf_value(conf, "db_host")
    if not host:
        return None
    return {
        "db_host": host,
        "db_port": os.environ.get("PGPORT") or conf_value(conf, "db_port") or "5432",
        "db_user": os.environ.get("PGUSER") or conf_value(conf, "db_user") or "odoo",
        "db_password": os.environ.get("PGPASSWORD") or conf_value(conf, "db_password") or "odoo",
    }


def pg_bindir():
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    if shutil.which("pg_config"):
        bindir = Path(
            subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        )
        if (bindir / "initdb").exists():
            return bindir
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).parent
    apt_install("postgresql")
    return pg_bindir()


class Cluster:
    """A private PostgreSQL cluster in ``path``, reachable on 127.0.0.1 only."""

    def __init__(self, path, settings=()):
        self.path = Path(path)
        self.bindir = pg_bindir()
        self.started_here = False
        # Server settings beyond the defaults (``-c name=value``), given at each start.
        self.server_settings = tuple(settings)

    def _options(self, port):
        extra = "".join(f" -c {setting}" for setting in self.server_settings)
        return f"-p {port} -k {self.sockdir} -c listen_addresses=127.0.0.1 -c fsync=off{extra}"

    def _as_owner(self, cmd):
        # initdb refuses root: as root, the cluster belongs to Debian's `postgres` user.
        return (
            ["runuser", "-u", "postgres", "--", *map(str, cmd)]
            if is_root()
            else list(map(str, cmd))
        )

    @property
    def pgdata(self):
        return self.path / "pgdata"

    @property
    def port(self):
        f = self.path / "port"
        return int(f.read_text()) if f.exists() else None

    @property
    def sockdir(self):
        # A unix socket path must stay under ~100 bytes: keep it short, outside the checkout.
        return (
            Path(tempfile.gettempdir())
            / f"r3cx-{hashlib.sha1(str(self.path).encode()).hexdigest()[:10]}"
        )

    def control_commands(self):
        """(stop, start) commands of this cluster, for tests that restart PostgreSQL."""
        ctl = [self.bindir / "pg_ctl", "-D", self.pgdata, "-w"]
        opts = self._options(self.port)
        return (
            self._as_owner([*ctl, "-m", "fast", "stop"]),
            self._as_owner([*ctl, "-l", self.path / "server.log", "-o", opts, "start"]),
        )

    def running(self):
        return (
            self.port is not None
            and sh(
                [self.bindir / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            ).returncode
            == 0
        )

    def ensure(self):
        self.path.mkdir(parents=True, exist_ok=True)
        if is_root():
            shutil.chown(self.path, "postgres", "postgres")
        if not (self.pgdata / "PG_VERSION").exists():
            say(f"creating a private PostgreSQL cluster in {self.path}")
            self.pgdata.mkdir(exist_ok=True)
            if is_root():
                shutil.chown(self.pgdata, "postgres", "postgres")
            self.pgdata.chmod(0o700)
            sh(
                self._as_owner(
                    [
                        self.bindir / "initdb",
                        "-D",
                        self.pgdata,
                        "-U",
                        "postgres",
                        "--auth-local=trust",
                        "--auth-host=trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                quiet=True,
            )
        if self.running():
            return
        port = self.port if self.port and self._port_free(self.port) else free_port()
        (self.path / "port").write_text(str(port))
        self.sockdir.mkdir(exist_ok=True)
        if is_root():
            shutil.chown(self.sockdir, "postgres", "postgres")
        sh(
            self._as_owner(
                [
                    self.bindir / "pg_ctl",
                    "-D",
                    self.pgdata,
                    "-l",
                    self.path / "server.log",
                    "-w",
                    "start",
                    "-o",
                    self._options(port),
                ]
            ),
            quiet=True,
        )
        self.started_here = True
        sh(
            self._as_owner(
                [
                    self.bindir / "psql",
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    port,
                    "-U",
                    "postgres",
                    "-c",
                    "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='odoo') THEN "
                    "CREATE ROLE odoo LOGIN CREATEDB PASSWORD 'odoo'; END IF; END$$",
                ]
            ),
            quiet=True,
        )

    @staticmethod
    def _port_free(port):
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) != 0

    def stop(self):
        if self.running():
            sh(
                self._as_owner(
                    [self.bindir / "pg_ctl", "-D", self.pgdata, "-m", "fast", "-w", "stop"]
                ),
                check=False,
                quiet=True,
            )

    def settings(self):
        return {
            "db_host": "127.0.0.1",
            "db_port": str(self.port),
            "db_user": "odoo",
            "db_password": "odoo",
        }


def cluster_home(name):
    """Where a private cluster lives: the checkout's ``.data`` when ``postgres`` can reach it."""
    home = DATA / name
    if (
        is_root()
        and sh(["runuser", "-u", "postgres", "--", "test", "-x", str(ROOT)], check=False).returncode
    ):
        home = (
            Path("/var/tmp")
            / f"realtor_3cx-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
            / name
        )
        say(f"the postgres user cannot reach {ROOT}: the cluster lives in {home}")
    return home


def production_settings():
    """The settings of the cluster of `make run` and `make bench`: a database server's usual
    shared buffers, a quarter of the memory (at most 8 GB). PostgreSQL's default, 128 MB, is
    for small machines, and a brokerage's call log (a million transcripts is 3.4 GB) wants
    its recent rows in memory (docker/docker-compose.yml has POSTGRES_SHARED_BUFFERS). Test
    clusters keep the defaults: many of them run at once."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    megabytes = max(128, min(8192, memory // 4 // 2**20))
    return (f"shared_buffers={megabytes}MB",)


def database_server(conf, cluster_name, settings=()):
    """(cluster or None, connection settings): the configured server, else a private cluster
    named ``cluster_name`` under .data, started if needed (with ``settings``)."""
    db = external_server(conf)
    if db is not None:
        return None, db
    cluster = Cluster(cluster_home(cluster_name), settings)
    cluster.ensure()
    return cluster, cluster.settings()


# --- Odoo configuration and commands -----------------------------------------------------------


def secret_key(conf):
    """The key that encrypts 3CX secrets: odoo.conf, the environment, or one kept in .data."""
    if conf_value(conf, "realtor_3cx_secret_key") or os.environ.get("REALTOR_3CX_SECRET_KEY"):
        return None
    keyfile = DATA / "secret.key"
    if not keyfile.exists():
        DATA.mkdir(exist_ok=True)
        keyfile.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        keyfile.chmod(0o600)
    return keyfile.read_text().strip()


def write_conf(path, src, db, http_port, data_dir, extra=None):
    """odoo.conf of the checkout plus what this machine decided (paths, server, key)."""
    conf = read_conf()
    if not conf.has_section("options"):
        conf.add_section("options")
    options = {
        "addons_path": f"{src / 'odoo' / 'addons'},{ROOT}",
        "data_dir": str(data_dir),
        "http_port": str(http_port),
        **db,
        **(extra or {}),
    }
    key = secret_key(conf)
    if key:
        options["realtor_3cx_secret_key"] = key
    for k, v in options.items():
        conf.set("options", k, v)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        conf.write(f)
    path.chmod(0o600)
    return path


def odoo_cmd(src, conf, *args):
    return [str(venv_python()), str(src / "odoo-bin"), "-c", str(conf), *args]


def load_addon(src, conf, dbname, mode="-i", modules=ADDON):
    """Install (``-i``, creating the database if needed) or update (``-u``) the addon."""
    sh(odoo_cmd(src, conf, "-d", dbname, mode, modules, "--stop-after-init", "--log-level=warn"))


def db_state(conf_path, dbname):
    """'missing', 'no-addon' or 'installed', asked through psycopg2 in the venv."""
    code = f"""
import configparser, psycopg2
c = configparser.ConfigParser(interpolation=None); c.read({str(conf_path)!r}); o = c['options']
kw = dict(host=o['db_host'], port=o['db_port'], user=o['db_user'], password=o['db_password'])
try:
    cn = psycopg2.connect(dbname={dbname!r}, **kw)
except psycopg2.OperationalError as e:
    print('missing' if 'does not exist' in str(e) else 'error: ' + str(e).strip()); raise SystemExit
cr = cn.cursor()
cr.execute("SELECT to_regclass('ir_module_module')")
if cr.fetchone()[0] is None:
    print('no-addon'); raise SystemExit
cr.execute("SELECT state FROM ir_module_module WHERE name=%s", ({ADDON!r},))
row = cr.fetchone()
print('installed' if row and row[0] == 'installed' else 'no-addon')
"""
    out = subprocess.run(
        [str(venv_python()), "-c", code], capture_output=True, text=True
    ).stdout.strip()
    if out.startswith("error"):
        raise SetupError(f"cannot reach PostgreSQL: {out}")
    return out


def drop_db(conf_path, dbname):
    code = f"""
import configparser, psycopg2
c = configparser.ConfigParser(interpolation=None); c.read({str(conf_path)!r}); o = c['options']
cn = psycopg2.connect(dbname='postgres', host=o['db_host'], port=o['db_port'], user=o['db_user'],
                      password=o['db_password'])
cn.autocommit = True
cn.cursor().execute('DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
"""
    subprocess.run([str(venv_python()), "-c", code], check=False)


# --- run ---------------------------------------------------------------------------------------


def wait_http(port, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"Odoo exited with code {proc.returncode}: see the log above")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/web/login", timeout=2):
                return
        time.sleep(0.5)
    raise SetupError(f"Odoo did not answer on port {port} within {timeout} s")


def interrupt(*_):
    raise KeyboardInterrupt


def point_demo_server(conf_path, dbname, port):
    """Point the demo's *Brokerage PBX* at the simulator's port (5001 unless ``SIM_PORT``)."""
    code = f"""
import configparser, psycopg2
c = configparser.ConfigParser(interpolation=None); c.read({str(conf_path)!r}); o = c['options']
cn = psycopg2.connect(dbname={dbname!r}, host=o['db_host'], port=o['db_port'], user=o['db_user'],
                      password=o['db_password'])
with cn, cn.cursor() as cr:
    cr.execute(
        "UPDATE threecx_server SET base_url = %s WHERE id = (SELECT res_id FROM ir_model_data "
        "WHERE module = %s AND name = 'threecx_server_demo') AND base_url <> %s",
        ({f"http://127.0.0.1:{port}"!r}, {ADDON!r}, {f"http://127.0.0.1:{port}"!r}))
"""
    sh([str(venv_python()), "-c", code])


def stop_all(procs, cluster, timeout=20):
    """Stop what ``make run`` started: its processes (all asked at once, killed after
    ``timeout`` seconds), then its PostgreSQL cluster."""
    # A second Ctrl-C, or the service manager's repeated SIGTERM, must not cut this short and
    # leave PostgreSQL or a child behind.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.monotonic() + timeout
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        if p.poll() is None:
            p.kill()
            p.wait(5)
    if cluster and cluster.started_here:
        say("stopping PostgreSQL")
        cluster.stop()


def cmd_run(args):
    # Explicit handlers: a shell starts background jobs with SIGINT ignored, and then Python
    # would not turn Ctrl-C (or a kill -INT) into KeyboardInterrupt. SIGTERM is what a service
    # manager (and `make`, passing it on) sends.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    sim_port = args.sim_port
    procs = []
    cluster = None
    try:
        ensure_venv()
        src = ensure_odoo()
        conf = read_conf()
        http_port = int(conf_value(conf, "http_port") or 8069)
        if not Cluster._port_free(http_port):
            raise SetupError(
                f"port {http_port} is already in use (another `make run`?): stop it, or set "
                "http_port in odoo.conf"
            )
        if not Cluster._port_free(sim_port):
            raise SetupError(
                f"port {sim_port} is already in use: the demo's 3CX simulator needs it (stop "
                "whatever listens there, e.g. another `make run`, or `make run SIM_PORT=...`)"
            )
        cluster, db = database_server(conf, "pg", production_settings())
        conf_path = write_conf(
            DATA / "odoo-run.conf",
            src,
            db,
            http_port,
            DATA / "filestore",
            {"db_name": RUN_DB, "dbfilter": f"^{RUN_DB}$", "list_db": "False"},
        )
        stamp = DATA / "run-addon.sha256"
        state = db_state(conf_path, RUN_DB)
        wanted = digest(ROOT / ADDON)
        if state != "installed":
            say(f"creating database {RUN_DB} with demo data and {ADDON} (about a minute)")
            load_addon(src, conf_path, RUN_DB, "-i")
            stamp.write_text(wanted)
        elif not stamp.exists() or stamp.read_text() != wanted:
            say(f"the addon changed since the last run: updating {ADDON}")
            load_addon(src, conf_path, RUN_DB, "-u")
            stamp.write_text(wanted)
        point_demo_server(conf_path, RUN_DB, sim_port)
        # The 3CX simulator stands in for the brokerage's PBX, with demo callers unless off.
        demo = [] if args.demo_traffic == "off" else ["--demo", args.demo_traffic]
        simulator = subprocess.Popen(
            [str(venv_python()), "-m", f"{ADDON}.threecx.simulator", "--port", str(sim_port),
             *demo, "--parent-pid", str(os.getpid())],
            cwd=ROOT,
            start_new_session=True,
        )
        procs.append(simulator)
        # The worker holds the 3CX connection for the database (never inside Odoo's HTTP).
        worker = subprocess.Popen(
            [str(venv_python()), "-m", f"{ADDON}.worker", "-c", str(conf_path), "-d", RUN_DB],
            cwd=ROOT,
            start_new_session=True,
        )
        procs.append(worker)
        odoo = subprocess.Popen(
            odoo_cmd(src, conf_path, "--log-level=info"), start_new_session=True
        )
        procs.append(odoo)
        wait_http(http_port, odoo)
        print()
        say(f"Odoo is up: http://127.0.0.1:{http_port}  (database {RUN_DB})")
        traffic = {
            "off": "no demo traffic",
            "gentle": "demo callers every few minutes, answered only by you",
            "busy": "demo callers every 25 s, most answered by simulated phones",
        }[args.demo_traffic]
        say(f"3CX simulator ({traffic}): http://127.0.0.1:{sim_port}, client id 900, "
            "API key simulator-secret")
        for login, password, role in DEMO_LOGINS:
            print(f"    login {login:<8} password {password:<8} {role}")
        say("Ctrl-C stops everything this command started")
        print(flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        dead = next(p for p in procs if p.poll() is not None)
        raise SetupError(
            f"a process stopped unexpectedly (exit {dead.returncode}): {' '.join(dead.args[1:3])}"
        )
    except KeyboardInterrupt:
        print()
        say("stopping")
    finally:
        stop_all(procs, cluster)


# --- test --------------------------------------------------------------------------------------


def junit_counts(path):
    """(passed, failed, skipped names) from a pytest junit XML report."""
    if not path.exists():
        return 0, 0, []
    root = ET.parse(path).getroot()
    passed = failed = 0
    skipped = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped.append(name)
        else:
            passed += 1
    return passed, failed, skipped


def cmd_test(args):
    ensure_venv()
    src = ensure_odoo()
    chromium = ensure_chromium()
    nginx = ensure_nginx()
    ensure_speech_tools()
    prettier = ensure_prettier()
    ensure_compose()
    conf = read_conf()
    run_id = f"{os.getpid()}_{secrets.token_hex(3)}"
    cluster, db = database_server(conf, f"pg-test-{run_id}")
    dbname = f"r3cx_test_{run_id}"
    workdir = DATA / f"test-{run_id}"
    conf_path = write_conf(
        workdir / "odoo.conf",
        src,
        db,
        free_port(),
        workdir / "filestore",
        {"db_name": dbname, "dbfilter": f"^{dbname}$", "list_db": "False", "max_cron_threads": "0"},
    )
    # pytest-odoo runs the addon's tests with this one: the same, in test mode as odoo-bin
    # --test-tags puts Odoo (test mode is "test tags given"; Odoo logs an ERROR when its test
    # framework is imported outside it). pytest-odoo selects tests itself, not by tags. The
    # install above and the project tests keep the plain one.
    pytest_conf = workdir / "odoo-pytest.conf"
    test_mode = configparser.ConfigParser()
    test_mode.read(conf_path)
    test_mode.set("options", "test_tags", f"/{ADDON}")
    with pytest_conf.open("w") as f:
        test_mode.write(f)
    pytest_conf.chmod(0o600)
    suites = []
    # T="a.py b.py" runs several targets of one suite on one database.
    targets = (args.target or "").split()
    target = targets[0] if targets else None
    if not target or target.startswith(ADDON):
        suites.append(
            (
                "addon (Odoo tests)",
                [
                    "--odoo-config",
                    str(pytest_conf),
                    "--odoo-database",
                    dbname,
                    "--odoo-http",
                    "--odoo-log-level",
                    "warn",
                    *(targets or [f"{ADDON}/tests"]),
                ],
            )
        )
    if not target or not target.startswith(ADDON):
        suites.append(("project (tests/)", ["-p", "no:odoo", *(targets or ["tests"])]))
    env = dict(
        os.environ,
        REALTOR_3CX_TEST_ODOO_CONF=str(conf_path),
        REALTOR_3CX_TEST_DB=dbname,
        REALTOR_3CX_ODOO_SRC=str(src),
        REALTOR_3CX_CHROMIUM=chromium,
        REALTOR_3CX_NGINX=nginx,
        REALTOR_3CX_PRETTIER=str(prettier),
    )
    if cluster:  # the worker tests stop and start PostgreSQL under a live worker
        stop_cmd, start_cmd = cluster.control_commands()
        env["REALTOR_3CX_TEST_PG_STOP"] = json.dumps(stop_cmd)
        env["REALTOR_3CX_TEST_PG_START"] = json.dumps(start_cmd)
    total_passed = total_failed = 0
    try:
        say(f"creating the throwaway database {dbname} with {ADDON} installed")
        load_addon(src, conf_path, dbname, "-i")
        for i, (name, pytest_args) in enumerate(suites):
            report = workdir / f"junit-{i}.xml"
            say(f"running the {name} suite")
            rc = subprocess.run(
                [
                    str(venv_python()),
                    "-m",
                    "pytest",
                    "-p",
                    "no:cacheprovider",
                    "-ra",
                    f"--junitxml={report}",
                    *args.pytest_args,
                    *pytest_args,
                ],
                cwd=ROOT,
                env=env,
            ).returncode
            passed, failed, skipped = junit_counts(report)
            # A skipped test proves nothing: a browser test that skipped is a failure.
            for name_ in skipped:
                say(f"counted as failed because it skipped: {name_}")
            failed += len(skipped)
            if rc not in (0, 1) or passed + failed == 0:
                say(f"the {name} suite did not run properly (pytest exit {rc}): counted as failed")
                failed = max(failed, 1)
            say(f"{name}: {passed} passed, {failed} failed")
            total_passed += passed
            total_failed += failed
    finally:
        if not args.keep:
            drop_db(conf_path, dbname)
            if cluster:
                cluster.stop()
                shutil.rmtree(cluster.path, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"kept: database {dbname}, config {conf_path}")
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


# --- bench -------------------------------------------------------------------------------------


BENCH_DB = "realtor_3cx_bench"
# The caller lookup's anchor is Odoo's own phone search, which res.partner gets from sms
# (mail.thread.phone, with its indexes); the addon itself does not need sms.
BENCH_MODULES = f"{ADDON},sms"


def cmd_bench(args):
    """Benchmarks on their own database in the private cluster, created afresh each run so
    that every figure is measured on exactly the data it names."""
    ensure_venv()
    if args.only in ("", "transcribe"):
        ensure_speech_tools()
    if args.only in NO_DATABASE_BENCHMARKS:
        cmd = [str(venv_python()), "-m", "tests.benchmarks", "--only", args.only]
        return subprocess.run(cmd, cwd=ROOT).returncode
    src = ensure_odoo()
    conf = read_conf()
    cluster, db = database_server(conf, "pg", production_settings())
    try:
        conf_path = write_conf(
            DATA / "odoo-bench.conf", src, db, free_port(), DATA / "filestore-bench",
            {"db_name": BENCH_DB, "list_db": "False", "max_cron_threads": "0"},
        )
        drop_db(conf_path, BENCH_DB)
        say(f"creating the benchmark database {BENCH_DB} ({BENCH_MODULES})")
        load_addon(src, conf_path, BENCH_DB, "-i", BENCH_MODULES)
        env = dict(os.environ, REALTOR_3CX_BENCH_CONF=str(conf_path),
                   REALTOR_3CX_BENCH_DB=BENCH_DB, REALTOR_3CX_ODOO_SRC=str(src))
        if args.only in ("", "prefork"):  # prefork Odoo behind nginx, as in production
            env["REALTOR_3CX_NGINX"] = ensure_nginx()
        cmd = [str(venv_python()), "-m", "tests.benchmarks"]
        if args.only:
            cmd += ["--only", args.only]
        return subprocess.run(cmd, cwd=ROOT, env=env).returncode
    finally:
        if cluster and cluster.started_here:
            cluster.stop()


# --- soak --------------------------------------------------------------------------------------


def cmd_soak(args):
    """The soak (tests/soak.py) on a throwaway cluster and database: it restarts PostgreSQL,
    so it never shares a cluster with anything else."""
    ensure_venv()
    src = ensure_odoo()
    conf = read_conf()
    if external_server(conf) is not None:
        raise SetupError("the soak restarts PostgreSQL: it needs the private cluster (unset "
                         "db_host in odoo.conf and PGHOST)")
    run_id = f"{os.getpid()}_{secrets.token_hex(3)}"
    cluster, db = database_server(conf, f"pg-soak-{run_id}")
    dbname = f"r3cx_soak_{run_id}"
    workdir = DATA / f"soak-{run_id}"
    conf_path = write_conf(
        workdir / "odoo.conf", src, db, free_port(), workdir / "filestore",
        {"db_name": dbname, "dbfilter": f"^{dbname}$", "list_db": "False",
         "max_cron_threads": "0"},
    )
    stop_cmd, start_cmd = cluster.control_commands()
    env = dict(
        os.environ,
        REALTOR_3CX_TEST_ODOO_CONF=str(conf_path),
        REALTOR_3CX_TEST_DB=dbname,
        REALTOR_3CX_TEST_PG_STOP=json.dumps(stop_cmd),
        REALTOR_3CX_TEST_PG_START=json.dumps(start_cmd),
    )
    rc = 1
    try:
        say(f"creating the throwaway database {dbname} with {ADDON} installed")
        load_addon(src, conf_path, dbname, "-i")
        rc = subprocess.run(
            [str(venv_python()), "-m", "tests.soak", "--calls", str(args.calls), "--seed",
             str(args.seed), "--logs", str(workdir / "logs"), *args.soak_args],
            cwd=ROOT, env=env,
        ).returncode
    finally:
        drop_db(conf_path, dbname)
        cluster.stop()
        shutil.rmtree(cluster.path, ignore_errors=True)
        if rc == 0:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"kept the logs in {workdir / 'logs'}")
    return rc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="Odoo with the addon and demo data on http://127.0.0.1:8069")
    run.add_argument(
        "--demo-traffic",
        choices=("gentle", "busy", "off"),
        default=os.environ.get("DEMO_TRAFFIC") or "gentle",
        help="the simulator's demo callers: gentle (a call every few minutes, answered only "
        "by you), busy (every 25 s, most answered by simulated phones) or off",
    )
    run.add_argument(
        "--sim-port",
        type=int,
        default=int(os.environ.get("SIM_PORT") or SIM_PORT),
        help=f"the 3CX simulator's port (default {SIM_PORT})",
    )
    test = sub.add_parser("test", help="every test suite; the last line is `N passed, N failed`")
    test.add_argument(
        "--target",
        default=os.environ.get("T") or "",
        help="test files or node ids of one suite, space-separated (realtor_3cx/... or tests/...)",
    )
    test.add_argument(
        "--keep", action="store_true", help="keep the database and cluster afterwards"
    )
    test.add_argument("pytest_args", nargs="*", help="extra pytest arguments, e.g. -k secret")
    bench = sub.add_parser("bench", help="the benchmarks; figures also go to .bench/results.json")
    bench.add_argument("--only", default=os.environ.get("ONLY") or "")
    soak = sub.add_parser("soak", help="calls through every fault; nothing lost or doubled")
    soak.add_argument("--calls", type=int, default=int(os.environ.get("CALLS") or 10000))
    soak.add_argument("--seed", type=int, default=int(os.environ.get("SEED") or 1))
    soak.add_argument("soak_args", nargs="*",
                      help="more options of tests/soak.py, after --, e.g. -- --concurrency 16")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args) or 0
        if args.command == "test":
            return cmd_test(args)
        if args.command == "soak":
            return cmd_soak(args)
        return cmd_bench(args)
    except SetupError as exc:
        print(f"realtor_3cx: error: {exc}", file=sys.stderr)
        if args.command == "test":
            print("0 passed, 1 failed")
        return 2


if __name__ == "__main__":
    sys.exit(main())
