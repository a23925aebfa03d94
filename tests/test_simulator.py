# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The simulator as a program: ``python -m``, its stop signals, and its demo traffic."""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from threecx_sim import control, running_simulator, wait_for

from realtor_3cx.threecx.client import ThreecxClient
from realtor_3cx.threecx.simulator import demo

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(*args, port=None):
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtor_3cx.threecx.simulator", "--port", str(port), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{url}/_sim/stats", timeout=1).ok
        except requests.ConnectionError:
            assert proc.poll() is None, proc.stdout.read()
            return False

    wait_for(up, "the simulator to listen", timeout=20)
    return proc, url


def test_python_m_runs_alone_on_loopback_and_stops_on_sigterm():
    proc, url = start("--client-secret", "s3", "--expires-in-unit", "minutes")
    try:
        token = requests.post(f"{url}/connect/token", timeout=5, data={
            "client_id": "900", "client_secret": "s3", "grant_type": "client_credentials"})
        assert token.json()["expires_in"] == 60
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        output = proc.stdout.read()
        assert f"3CX simulator listening on {url}" in output and "stopping" in output
        assert "s3" not in output  # the API key is not logged
    finally:
        if proc.poll() is None:
            proc.kill()


def test_it_stops_when_its_parent_dies():
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc, _url = start("--parent-pid", str(parent.pid))
    try:
        parent.kill()
        parent.wait()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_demo_traffic_is_reproducible_and_uses_the_demo_numbers():
    def day(seed):
        with running_simulator(speed=0.002) as sim:
            sim.call(lambda: __import__("asyncio").ensure_future(
                demo.run(sim.simulator, seed=seed)))
            wait_for(lambda: len(control(sim, "calls", method="GET")) >= 6, "demo calls")
            return [(c["caller"], c["callee"], c["did"])
                    for c in control(sim, "calls", method="GET")[:6]]

    first, again, other = day(7), day(7), day(8)
    assert first == again and first != other
    numbers = {caller for caller, _, _ in first}
    assert numbers <= {number for number, _, _ in demo.CALLERS}
    demo_xml = (ROOT / "realtor_3cx" / "demo" / "realtor_3cx_demo.xml").read_text()
    assert "+1 555 010 2030" in demo_xml and "+1 555 010 1001" in demo_xml


def test_restart_keeps_ids_increasing_and_forgets_live_legs():
    with running_simulator() as sim:
        first = control(sim, "calls/inbound", {"from": "+15550108001", "to": "100"})
        control(sim, "faults", {"restart": True})
        assert control(sim, "stats", method="GET")["live_legs"] == 0
        second = control(sim, "calls/inbound", {"from": "+15550108001", "to": "100"})
        assert second["callid"] > first["callid"]
        assert second["legs"][0]["id"] > first["legs"][0]["id"]


def test_control_api_answers_from_a_chosen_device():
    with running_simulator() as sim:
        call = control(sim, "calls/inbound", {"from": "+15550108001", "to": "101"})
        desk = sim.simulator.pbx.dns["101"].devices
        phone = list(desk)[1]
        answered = control(sim, f"calls/{call['callid']}/answer", {"dn": "101",
                                                                    "device_id": phone})
        assert answered["legs"][0]["device_id"] == phone
        assert answered["legs"][0]["status"] == "Connected"
        bad = requests.post(f"{sim.url}/_sim/calls/{call['callid']}/transfer", timeout=5,
                            json={"destination": "999"})
        assert bad.status_code == 422 and "not a DN" in bad.json()["error"]


def test_call_ids_never_come_back_after_a_restart_however_fast_calls_came():
    # Call ids start from the clock in tenths of seconds: more than ten calls a second run
    # ahead of it, and a restarted PBX would hand out the ids of calls Odoo already logged.
    from realtor_3cx.threecx.simulator.server import default_topology
    from realtor_3cx.threecx.simulator.state import Pbx

    now = [1_764_000_000.0]
    first = Pbx(clock=lambda: now[0])
    default_topology(first)
    ids = [first.inbound("+15550108001", "101").callid for _ in range(50)]
    first.restart()
    now[0] += 1  # one second later: ten ids of clock, fifty calls given
    fresh = Pbx(clock=lambda: now[0])
    default_topology(fresh)
    assert fresh.inbound("+15550108001", "101").callid <= max(ids)  # what the state prevents
    again = Pbx(clock=lambda: now[0])
    default_topology(again)
    again.restore(first.history())
    assert again.inbound("+15550108001", "101").callid == max(ids) + 1
    assert {c.result for c in again.calls.values() if c.callid in ids} == {"missed"}


def test_state_file_keeps_the_call_log_across_a_restart(tmp_path):
    state = tmp_path / "pbx.json"
    proc, url = start("--state-file", str(state), "--speed", "0.05")
    sim = type("Sim", (), {"url": url})()
    try:
        talked = control(sim, "calls/inbound", {"from": "+15550108001", "to": "101",
                                                "ring_seconds": 600})["callid"]
        control(sim, f"calls/{talked}/answer", {"dn": "101"})
        ringing = control(sim, "calls/inbound", {"from": "+15550108002", "to": "101",
                                                 "ring_seconds": 600})["callid"]
        done = control(sim, "calls/inbound", {"from": "+15550108003", "to": "101",
                                              "ring_seconds": 600})["callid"]
        control(sim, f"calls/{done}/hangup", {"side": "caller"})
        time.sleep(1.1)
        proc.send_signal(signal.SIGTERM)  # a 3CX service restart
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    port = int(url.rsplit(":", 1)[1])  # the same address, as a restarted 3CX keeps
    proc, url = start("--state-file", str(state), "--speed", "0.05", port=port)
    sim = type("Sim", (), {"url": url})()
    try:
        calls = {c["callid"]: c for c in control(sim, "calls", method="GET")}
        assert set(calls) == {talked, ringing, done}
        # calls in progress ended with the restart: the answered one as answered, with its
        # talk time; the ringing one as missed (it never reached voicemail)
        assert calls[talked]["result"] == "answered" and calls[talked]["ended_by"] == "pbx"
        assert calls[talked]["recording_id"] is not None
        assert calls[ringing]["result"] == "missed" and calls[ringing]["ended_by"] == "pbx"
        assert calls[done]["result"] == "missed" and calls[done]["ended_by"] == "caller"
        after = control(sim, "calls/inbound", {"from": "+15550108004", "to": "101"})
        assert after["callid"] > max(calls)
        # the worker catches up from the XAPI call log: it still has them, talk time included
        client = ThreecxClient(url, "900", "simulator-secret")
        log = {row["CallId"]: row for row in client.xapi.call_log(time.time() - 600,
                                                                  time.time() + 60)}
        client.close()
        assert set(log) == {talked, ringing, done}
        assert log[talked]["Answered"] and log[talked]["TalkingDuration"] != "PT0S"
        assert not log[ringing]["Answered"] and log[ringing]["Reason"] == "NoAnswer"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_the_call_log_of_one_call_is_the_same_row_as_in_the_whole_log():
    with running_simulator() as sim:
        ids = []
        for n in range(3):
            call = control(sim, "calls/inbound", {"from": f"+1555010800{n}", "to": "101"})
            control(sim, f"calls/{call['callid']}/hangup", {"side": "caller"})
            ids.append(call["callid"])
        client = ThreecxClient(sim.url, "900", "simulator-secret")
        whole = {row["CallId"]: row for row in client.xapi.call_log(time.time() - 600,
                                                                    time.time() + 60)}
        one = list(client.xapi.call_log(time.time() - 600, time.time() + 60,
                                        filter=f"CallId eq {ids[1]}"))
        none = list(client.xapi.call_log(time.time() - 600, time.time() + 60,
                                         filter="CallId eq 1"))
        client.close()
    assert sorted(whole) == ids
    assert one == [whole[ids[1]]] and none == []


def test_a_transfer_rings_for_its_own_timeout_not_the_first_legs():
    # 3CX times each ringing leg on its own. A call answered and transferred shortly before
    # the first leg's ring timeout would come due must ring on at its new destination:
    # a timer kept for the whole call ended it there as not answered (seen in a slow run).
    from realtor_3cx.threecx.simulator.server import default_topology
    from realtor_3cx.threecx.simulator.state import Pbx, Script

    now, timers = [1_764_000_000.0], []
    pbx = Pbx(clock=lambda: now[0], ring_timeout=20.0,
              schedule=lambda delay, fn: timers.append((now[0] + delay, fn)))
    default_topology(pbx)

    def advance(seconds):
        now[0] += seconds
        for due, fn in sorted(timers, key=lambda timer: timer[0]):
            if due <= now[0] and (due, fn) in timers:
                timers.remove((due, fn))
                fn()

    pbx.scripts["+15550108002"] = Script(answer_after=1.0)
    leg = pbx.makecall("900", "+15550108002")
    advance(1.0)
    assert leg.status == "Connected"
    advance(17.0)
    pbx.transferto(leg, "102")
    advance(5.0)  # past the first leg's 20 s: 102 still rings
    call = pbx.calls[leg.callid]
    assert call.ended_at is None
    assert [(other.dn, other.status) for other in pbx._legs_of(call.callid)] == [
        ("102", "Ringing")]
    advance(16.0)  # 21 s after the transfer: 102's own timeout ends it (answered before)
    assert call.ended_at is not None and call.ended_by == "pbx", call
    assert call.result == "answered" and call.recorded_seconds == 17.0
