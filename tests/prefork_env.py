# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Production's topology without Docker: prefork Odoo behind nginx, two telephony workers and
the 3CX simulator, all on loopback ports of this machine.

What
    :func:`prefork_odoo` runs ``odoo-bin --workers=N`` (HTTP worker processes, and the gevent
    process Odoo starts for the bus websocket), with ``proxy_mode`` on, on a database the caller
    names. :func:`nginx` runs Debian's nginx (nginx-light, which ``make test`` / ``make bench``
    install like Chromium) in front of it with production's own configuration
    (``docker/nginx.conf``, what the compose file runs) pointed at loopback ports: ``/websocket``
    to the gevent port with the Upgrade headers, the rest to the HTTP workers.
    :func:`topology` starts the whole of it: the simulator (its own process), the
    ``threecx.server`` record the caller creates for it, two ``python -m realtor_3cx.worker``
    (one acts, the other stands by), Odoo and nginx.

How it stops
    Every ``with`` block stops what it started, whatever happened inside. Odoo and nginx run in
    process groups of their own, stopped as groups (SIGTERM, then SIGKILL after a deadline), and
    they get SIGTERM from the kernel if this process dies without a goodbye (``PR_SET_PDEATHSIG``;
    the simulator has ``--parent-pid``); an ``atexit`` hook stops whatever is left at exit.

Failing loudly
    No nginx, no Odoo source or a server that does not answer is a ``RuntimeError`` saying what
    to do; Odoo's and the workers' logs are watched for ERROR lines (``browser_env.WATCH``).
"""

import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

if __package__:  # tests.prefork_env, as the benchmarks import it
    from .browser_env import WATCH, free_port
    from .threecx_sim import SPEED, SimulatorProcess, wait_for
    from .worker_env import Worker
else:  # prefork_env, as the tests import it (tests/ is on pytest's path)
    from browser_env import WATCH, free_port
    from threecx_sim import SPEED, SimulatorProcess, wait_for
    from worker_env import Worker

ROOT = Path(__file__).resolve().parent.parent
DOCKER_NGINX = ROOT / "docker" / "nginx.conf"
HTTP_WORKERS = 2

# What nginx needs around docker/nginx.conf (which goes inside `http {}`) to run as a test's own
# process: no daemon, and every file it writes (pid, logs, request buffers) in this run's folder.
NGINX_MAIN = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
lock_file {dir}/nginx.lock;
error_log {dir}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/odoo.conf;
}}
"""

_RUNNING = []  # (what, stop) of the processes started here and not stopped yet


@atexit.register
def _stop_leftovers():
    for _what, stop in reversed(list(_RUNNING)):
        with contextlib.suppress(Exception):
            stop()


def _die_with_parent():
    """In the child, before exec: SIGTERM when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_group(proc, timeout=20):
    """SIGTERM the process group of ``proc`` (it leads it), SIGKILL what is left at ``timeout``."""
    pgid = proc.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None and not _group_alive(pgid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    proc.wait(10)


def _spawn(what, args, log_path, **kwargs):
    log = open(log_path, "a")  # noqa: SIM115 (the child holds it; closed below)
    with log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_die_with_parent, **kwargs)
    entry = (what, lambda: stop_group(proc))
    _RUNNING.append(entry)
    return proc, entry


def _stopped(entry):
    entry[1]()
    with contextlib.suppress(ValueError):
        _RUNNING.remove(entry)


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read()
        return response.status


def _answers(url):
    with contextlib.suppress(OSError, urllib.error.HTTPError):
        return _get(url) == 200
    return False


def _listens(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def nginx_path():
    path = os.environ.get("REALTOR_3CX_NGINX") or shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not path:
        raise RuntimeError("nginx is missing: `apt-get install nginx-light` (make test and "
                           "make bench install it)")
    return path


def odoo_src():
    src = os.environ.get("REALTOR_3CX_ODOO_SRC")
    if not src:
        import odoo

        src = str(Path(odoo.__file__).resolve().parent.parent)
    if not (Path(src) / "odoo-bin").exists():
        raise RuntimeError(f"no odoo-bin in {src}: run through make test / make bench")
    return src


def render_nginx_conf(http_port, gevent_port, listen_port, source=DOCKER_NGINX):
    """The production proxy's configuration for these loopback ports.

    Its two upstream servers (``odoo:8069``, ``odoo:8072``) and its ``listen 80`` become
    127.0.0.1 ports; ``resolve`` goes (Debian's nginx 1.22 lacks it, and an address needs no
    DNS). Each of the three must be there exactly once: a proxy this cannot point at loopback
    is one the test would not be testing.
    """
    text = Path(source).read_text()
    for pattern, value in (
        (r"server odoo:8069( resolve)?;", f"server 127.0.0.1:{http_port};"),
        (r"server odoo:8072( resolve)?;", f"server 127.0.0.1:{gevent_port};"),
        (r"listen 80;", f"listen 127.0.0.1:{listen_port};"),
    ):
        text, found = re.subn(rf"(?m)^(\s*){pattern}", lambda m, v=value: m.group(1) + v, text)
        if found != 1:
            raise RuntimeError(f"{source}: expected one `{pattern}`, found {found}")
    return text


@contextlib.contextmanager
def prefork_odoo(conf, db, log_path, workers=HTTP_WORKERS, timeout=120):
    """``odoo-bin --workers=N`` on ``db``: yields ``(http_port, gevent_port)``.

    Cron runs nowhere (``--max-cron-threads=0``): a test decides what happens. The time limits
    are raised from 60 s of CPU: a worker's first page builds the asset bundles, slowly on a
    loaded machine, and Odoo would kill it mid-way.
    """
    http_port, gevent_port = free_port(), free_port()
    args = [sys.executable, str(Path(odoo_src()) / "odoo-bin"), "-c", str(conf), "-d", db,
            f"--db-filter=^{db}$", "--http-interface=127.0.0.1", f"--http-port={http_port}",
            f"--gevent-port={gevent_port}", f"--workers={workers}", "--max-cron-threads=0",
            "--proxy-mode", "--limit-time-cpu=600", "--limit-time-real=1200",
            "--log-level=warn"]
    WATCH.log(log_path, "the prefork Odoo's log")
    proc, entry = _spawn("prefork Odoo", args, log_path)
    try:
        deadline = time.monotonic() + timeout
        while not (_answers(f"http://127.0.0.1:{http_port}/web/login")
                   and _listens(gevent_port)):
            if proc.poll() is not None:
                raise RuntimeError(f"prefork Odoo exited ({proc.returncode}): see {log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefork Odoo did not answer in {timeout} s: see {log_path}")
            time.sleep(0.3)
        yield types.SimpleNamespace(proc=proc, http_port=http_port, gevent_port=gevent_port,
                                    log_path=log_path)
    finally:
        _stopped(entry)


def nginx_errors(path):
    """The lines of nginx's error log at ``error`` or worse (a proxy that failed a request)."""
    text = Path(path).read_text() if Path(path).exists() else ""
    return [line for line in text.splitlines()
            if any(f"[{level}]" in line for level in ("error", "crit", "alert", "emerg"))]


@contextlib.contextmanager
def nginx(http_port, gevent_port, logdir, timeout=30):
    """Debian's nginx in front of prefork Odoo; yields its base URL (``http://127.0.0.1:P``)."""
    binary = nginx_path()
    # Its own folder, not the test's: nginx's worker process (www-data or nobody when this
    # runs as root) writes request buffers there and must reach it.
    home = Path(tempfile.mkdtemp(prefix="r3cx-nginx-"))
    home.chmod(0o755)
    port = free_port()
    (home / "odoo.conf").write_text(render_nginx_conf(http_port, gevent_port, port))
    (home / "nginx.conf").write_text(NGINX_MAIN.format(dir=home))
    args = [binary, "-p", str(home), "-e", str(home / "error.log"), "-c",
            str(home / "nginx.conf")]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
    if checked.returncode:
        raise RuntimeError(f"nginx refuses its configuration:\n{checked.stderr}")
    proc, entry = _spawn("nginx", args, Path(logdir) / "nginx.out")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _answers(f"{url}/web/login"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: see {home / 'error.log'}")
            time.sleep(0.2)
        # One static file first, alone (tests/browser_env.py says why).
        _get(f"{url}/web/static/img/favicon.ico", timeout=60)
        yield types.SimpleNamespace(url=url, home=home, proc=proc,
                                    access_log=home / "access.log",
                                    errors=lambda: nginx_errors(home / "error.log"))
    finally:
        _stopped(entry)
        for name in ("error.log", "access.log"):
            with contextlib.suppress(OSError):
                shutil.copy(home / name, Path(logdir) / f"nginx-{name}")
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def behind_nginx(conf, db, logdir, workers=HTTP_WORKERS):
    """Prefork Odoo and nginx in front of it; yields ``(odoo, proxy)``."""
    with prefork_odoo(conf, db, Path(logdir) / "odoo.log", workers) as odoo, \
            nginx(odoo.http_port, odoo.gevent_port, logdir) as proxy:
        yield odoo, proxy


class Topology(types.SimpleNamespace):
    """What :func:`topology` started: ``url`` (nginx), ``odoo``, ``proxy``, ``sim``,
    ``workers`` and ``server_id``."""

    def active_worker(self, timeout=60):
        """The worker acting for the server (the other stands by), once both have decided."""
        def decided():
            acting = [w for w in self.workers if w.proc.poll() is None
                      and "acting for" in w.output()]
            waiting = [w for w in self.workers if w.proc.poll() is None
                       and "standing by" in w.output()]
            return acting if len(acting) == 1 and len(acting) + len(waiting) == 2 else None

        return wait_for(decided, "one worker acting and the other standing by",
                        timeout=timeout)[0]


@contextlib.contextmanager
def topology(db, logdir, create_server, workers=HTTP_WORKERS, speed=SPEED):
    """The simulator, the server record ``create_server(sim)`` makes (it returns its id), two
    telephony workers for it, prefork Odoo and nginx; yields a :class:`Topology`.

    ``db`` is a ``worker_env.OdooDb`` (its conf and database are Odoo's too).
    """
    logdir = Path(logdir)
    sim = SimulatorProcess(logdir / "simulator.log", logdir / "pbx.json", "--speed", str(speed))
    sim.start()
    telephony = []
    try:
        server_id = create_server(sim)
        for name in ("worker-1", "worker-2"):
            telephony.append(Worker(db, server_id, logdir / f"{name}.log"))
        with behind_nginx(db.conf, db.db, logdir, workers) as (odoo, proxy):
            yield Topology(url=proxy.url, odoo=odoo, proxy=proxy, sim=sim, workers=telephony,
                           server_id=server_id, logs=logdir)
    finally:
        for worker in telephony:
            worker.stop()
        sim.stop()
