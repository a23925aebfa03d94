# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``make run`` as a person trying the product meets it, and as a service manager stops it.

A clone of HEAD (the committed tree, as a user gets it) runs ``make run`` on free ports: it
creates its database with demo data, starts the simulator, the worker and Odoo; a demo realtor
logs in and a call rung at the simulator reaches Odoo through the worker. Then SIGTERM (what
systemd and ``docker stop`` send) or SIGINT (Ctrl-C) to ``make``'s process must stop every
process it started and its PostgreSQL cluster.
"""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from browser_env import free_port
from threecx_sim import wait_for

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10


def odoo_src():
    src = os.environ.get("REALTOR_3CX_ODOO_SRC")
    if not src:
        import odoo

        src = str(Path(odoo.__file__).resolve().parent.parent)
    return src


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    if not (ROOT / ".venv" / "bin" / "python").exists():
        raise RuntimeError("this test reuses the checkout's .venv: run it with `make test`")
    path = tmp_path_factory.mktemp("make-run") / "realtor_3cx"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(path)], check=True, timeout=60)
    # The same pinned requirements: the clone's set-up finds them installed.
    (path / ".venv").symlink_to(ROOT / ".venv")
    conf = path / "odoo.conf"
    conf.write_text(re.sub(r"^http_port = \d+", f"http_port = {free_port()}",
                           conf.read_text(), flags=re.M))
    return path


class MakeRun:
    def __init__(self, clone, log_path, **variables):
        self.clone = clone
        self.http_port = int(re.search(r"^http_port = (\d+)", (clone / "odoo.conf").read_text(),
                                       re.M).group(1))
        self.sim_port = free_port()
        # What a user's shell has: none of make test's own settings (its PostgreSQL, its
        # target, the outer make's jobserver).
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PG", "REALTOR_3CX_", "MAKE", "MFLAGS"))
               and k not in ("T", "ONLY")}
        env.update(ODOO_SRC=odoo_src(), SIM_PORT=str(self.sim_port), **variables)
        self.log_path = log_path
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in wait())
        # Its own process group, as in a terminal or under a service manager.
        self.proc = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.http_port}"

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def wait_up(self, timeout=600):
        def up():
            assert self.proc.poll() is None, f"make run exited early:\n{self.output()[-3000:]}"
            return "Odoo is up" in self.output()

        wait_for(up, "make run to bring Odoo up", timeout=timeout)

    def rpc(self, session, model, method, *args, **kwargs):
        response = session.post(f"{self.url}/web/dataset/call_kw", timeout=TIMEOUT, json={
            "jsonrpc": "2.0", "method": "call",
            "params": {"model": model, "method": method, "args": list(args), "kwargs": kwargs}})
        body = response.json()
        assert "error" not in body, body
        return body["result"]

    def login(self, login, password):
        session = requests.Session()
        response = session.post(f"{self.url}/web/session/authenticate", timeout=TIMEOUT, json={
            "jsonrpc": "2.0", "method": "call",
            "params": {"db": "realtor_3cx", "login": login, "password": password}})
        assert response.json().get("result", {}).get("uid"), response.text
        return session

    def stop(self, sig, group=False):
        """``sig`` to make's process (a service manager), or to its group (Ctrl-C)."""
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(90)
        finally:
            self.log.close()


def processes_under(path):
    """Processes whose command line names ``path`` (the clone's Odoo, worker, simulator...)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(path) in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def listening(port):
    import socket

    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def assert_all_stopped(run, code, sig):
    # make re-raises the signal on itself once its child has finished: stopped, not crashed.
    assert code in (0, -sig), run.output()[-3000:]
    assert not processes_under(run.clone), processes_under(run.clone)
    assert not listening(run.http_port) and not listening(run.sim_port)
    assert not (run.clone / ".data" / "pg" / "pgdata" / "postmaster.pid").exists()
    assert "stopping PostgreSQL" in run.output()


def test_make_run_serves_the_demo_then_sigterm_stops_everything(clone, tmp_path):
    run = MakeRun(clone, tmp_path / "make-run.log", DEMO_TRAFFIC="off")
    try:
        run.wait_up()
        assert "no demo traffic" in run.output()
        admin = run.login("admin", "admin")
        [server] = run.rpc(admin, "threecx.server", "search_read",
                           [["client_id", "=", "900"]], fields=["base_url"])
        assert server["base_url"] == f"http://127.0.0.1:{run.sim_port}"
        wait_for(lambda: run.rpc(admin, "threecx.server", "read", [server["id"]],
                                 ["connection_state"])[0]["connection_state"] == "connected",
                 "the worker to connect to the simulator", timeout=60)
        # A caller rings the demo realtor: the call reaches Odoo, seen by that realtor.
        response = requests.post(f"http://127.0.0.1:{run.sim_port}/_sim/calls/inbound",
                                 json={"from": "+15550102030", "to": "101"}, timeout=TIMEOUT)
        callid = str(response.json()["callid"])
        demo = run.login("demo", "demo")
        calls = wait_for(lambda: run.rpc(demo, "threecx.call", "search_read",
                                         [["call_id", "=", callid]], fields=["extension"]),
                         "the rung call in Odoo, as the demo realtor", timeout=30)
        assert calls[0]["extension"] == "101"
        assert processes_under(clone)
    except BaseException:
        run.stop(signal.SIGKILL)
        raise
    code = run.stop(signal.SIGTERM)
    wait_for(lambda: not processes_under(clone), "every process of make run to stop",
             timeout=30)
    assert_all_stopped(run, code, signal.SIGTERM)


def test_a_second_make_run_reuses_the_database_and_ctrl_c_stops_everything(clone, tmp_path):
    run = MakeRun(clone, tmp_path / "make-run.log")
    try:
        run.wait_up(timeout=240)
        output = run.output()
        assert "creating database" not in output, output  # the first test's database is kept
        assert "answered only by you" in output  # gentle demo traffic by default
        assert "gentle demo traffic" in output  # as the simulator itself says
    except BaseException:
        run.stop(signal.SIGKILL)
        raise
    code = run.stop(signal.SIGINT, group=True)
    wait_for(lambda: not processes_under(clone), "every process of make run to stop",
             timeout=30)
    assert_all_stopped(run, code, signal.SIGINT)
