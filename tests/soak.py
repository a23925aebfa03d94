# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``make soak [CALLS=10000] [SEED=1]``: many calls through every fault, then an exact count.

What
    The simulator (its own process, speeded up) runs ``CALLS`` calls of every kind: answered,
    voicemail, callers giving up, team-queue calls, transfers, outbound answered, busy and
    unanswered. Meanwhile, at random moments drawn from ``SEED``, the soak drops the event
    WebSocket, revokes the worker's token, restarts the simulator (a 3CX service restart: live
    calls end, the call log stays), kills the worker with SIGKILL and starts a new one, and
    restarts PostgreSQL. 3CX's documented quirk that an Upset can come before the leg can be
    read (``early_upset_ms``) is on throughout. Afterwards every call the simulator ran must
    exist in Odoo, in the final state 3CX gives it, and nothing a realtor sees may come twice
    for one 3CX call: a ringing pop-up, an outcome prompt, a call-back activity, a chatter
    line. The summary counts faults by kind and calls lost, in the wrong state or unknown to
    3CX, and what a user saw twice; the exit code is 1 unless all are 0.

How it works
    ``tests/devenv.py soak`` prepares a throwaway PostgreSQL cluster and database (as
    ``make test`` does) and runs this module; the processes are those of the worker tests
    (:class:`worker_env.Worker`, :class:`threecx_sim.SimulatorProcess`). The ground truth is
    the simulator's own record of every call (``GET /_sim/calls``), kept across its restarts
    in its state file.

How to use
    ``make soak`` (10,000 calls, seed 1); ``make soak CALLS=500 SEED=7`` for a short run;
    the other options of :func:`main` (concurrency, fault interval, speed, settle time) go
    through ``SOAK_ARGS``: ``make soak SOAK_ARGS="--concurrency 16 --fault-every 100"``.
"""

import argparse
import collections
import itertools
import random
import threading
import time
from pathlib import Path

import requests

from .threecx_sim import SimulatorProcess, control
from .worker_env import QUIRKS, OdooDb, Worker, postgres

EXTENSIONS = ("100", "101", "102")
QUEUE = "800"
BUSY, NO_ANSWER = "+15550199001", "+15550199002"
LISTING_LINE = "+15550108900"  # a listing's own number: its agent gets the pop-up too
KNOWN_CALLERS = 100  # callers +15550100000..99 are contacts (half of all callers)
# What the call mix is made of, with weights.
KINDS = {
    "answered": 34, "voicemail": 9, "caller_gives_up": 9, "queue_answered": 10,
    "queue_missed": 5, "transfer": 9, "outbound": 14, "outbound_busy": 5,
    "outbound_no_answer": 5,
}
FAULTS = ("ws_drop", "token_revoke", "sim_restart", "worker_kill", "pg_restart")
OPEN_STATES = ("ringing", "dialing", "connected")


def expected_state(call):
    """The final state Odoo must show for a call the simulator ran (its ground truth)."""
    result = call["result"]
    if result == "answered":
        return "completed"
    if call["direction"] == "Inbound":
        return "voicemail" if result == "voicemail" else "missed"
    return "busy" if result == "busy" else "failed"


def compare(truth, logged):
    """Lost, wrong and unknown calls (one record per call is the database's UNIQUE
    constraint's to guarantee; what a user sees twice is :func:`seen_twice`'s).

    :param truth: the simulator's calls (``GET /_sim/calls``)
    :param logged: ``(call id, state)`` of every record in Odoo
    :returns: dict of lists: ``lost`` (call ids), ``wrong`` (``(call id, expected, found)``),
        ``unknown`` (call ids only Odoo has)
    """
    records = dict(logged)
    ran = {str(call["callid"]): call for call in truth}
    lost = sorted(c for c in ran if c not in records)
    wrong = sorted((c, expected_state(call), records[c]) for c, call in ran.items()
                   if c in records and records[c] != expected_state(call))
    unknown = sorted(c for c in records if c not in ran)
    return {"lost": lost, "wrong": wrong, "unknown": unknown}


def seen_twice(notifications, call_backs, chatter):
    """What a realtor would see twice for one 3CX call.

    :param notifications: ``(type, partner id, call id, call state, partner id of the call's
        realtor)`` of every call notification sent on the bus, in the order sent
    :param call_backs: ``(call id, activity type)`` of every activity planned on a call
    :param chatter: ``(model, record id, summary lines, completed calls)`` of every contact
        and listing with calls
    :returns: dict of sorted lists: ``ringing`` and ``outcome_prompt`` (``(call id, partner
        id)`` notified more than once), ``call_back`` (``(call id, activity type)``),
        ``chatter`` (``(model,
        record id, lines beyond one per call)``)
    """
    def twice(items):
        counts = collections.Counter(items)
        return sorted(item for item, count in counts.items() if count > 1)

    # A pop-up rings again only once it closed: answered (by them or a colleague, who may
    # transfer the call to them next) or ended. A ringing notification while theirs is still
    # up is the same pop-up shown twice.
    open_popups, rang_twice = set(), set()
    for kind, partner, call_id, _state, _realtor in notifications:
        if kind == "realtor_3cx.call/ringing":
            if (call_id, partner) in open_popups:
                rang_twice.add((call_id, partner))
            open_popups.add((call_id, partner))
        else:
            open_popups.discard((call_id, partner))
    return {
        "ringing": sorted(rang_twice),
        # The browser asks the call's realtor for the outcome when a completed call ends.
        "outcome_prompt": twice((call_id, partner)
                                for kind, partner, call_id, state, realtor in notifications
                                if kind == "realtor_3cx.call/ended" and state == "completed"
                                and partner == realtor),
        "call_back": twice(call_backs),
        "chatter": sorted((model, res_id, lines - calls)
                          for model, res_id, lines, calls in chatter if lines > calls),
    }


def fault_plan(rng, calls, every):
    """(after how many calls, kind) of every fault, drawn ahead from the seed: about one per
    ``every`` calls, each kind at least once, all before the last call."""
    plan, at = [], 0.0
    while True:
        at += rng.expovariate(1 / every)
        if at >= calls * 0.95:
            break
        plan.append((int(at), rng.choice(FAULTS)))
    for kind in FAULTS:
        if kind not in {k for _, k in plan}:
            plan.append((int(rng.uniform(0.05, 0.95) * calls), kind))
    return sorted(plan)


class Soak:
    def __init__(self, args, logs):
        self.args = args
        self.logs = logs
        self.rng = random.Random(args.seed)
        self.db = OdooDb()
        self.sim = SimulatorProcess(logs / "simulator.log", logs / "pbx-state.json",
                                    "--speed", str(args.speed), "--max-history", "10000000",
                                    "--log-level", "WARNING")
        self.numbers = itertools.count()
        self.placed = 0
        self.placed_lock = threading.Lock()
        self.kinds = collections.Counter()
        self.faults = collections.Counter()
        self.refused = collections.Counter()  # "answer 422" -> how many
        self.worker = None
        self.workers_started = 0
        self.killing = False
        self.worker_exits = []  # logs of workers that exited without being told to

    # -- set-up -----------------------------------------------------------------------------

    def setup(self):
        self.sim.start()
        self.configure_pbx()

        def create(env):
            env.company.country_id = env.ref("base.us")
            group = env.ref("realtor_3cx.realtor_3cx_group_user")
            users = env["res.users"].create([
                {"name": f"Soak Realtor {n}", "login": f"soak_realtor_{n}_{int(time.time())}",
                 "groups_id": [(6, 0, [group.id, env.ref("base.group_user").id])]}
                for n in EXTENSIONS])
            server = env["threecx.server"].create({
                "name": "Soak PBX", "base_url": self.sim.url, "client_id": "900",
                "api_secret": "simulator-secret"})
            env["threecx.extension"].create([
                {"server_id": server.id, "number": number, "user_id": user.id}
                for number, user in zip(EXTENSIONS, users, strict=False)])
            env["res.partner"].create([{"name": f"Soak Caller {n}",
                                        "phone": f"+1555010{n:04d}"}
                                       for n in range(KNOWN_CALLERS)])
            env["realtor.property"].create({
                "name": f"Soak Listing {int(time.time())}", "listing_phone": LISTING_LINE,
                "listing_agent_id": users[1].id})
            return server.id

        self.server_id = self.db.do(create)
        self.start_worker()

    def configure_pbx(self):
        """What lives in the PBX's memory only: scripts of the far ends (again after a
        restart, as an admin's routing rules would be in 3CX's configuration)."""
        control(self.sim, "scripts", {"destination": BUSY, "busy": True})
        control(self.sim, "scripts", {"destination": NO_ANSWER, "answer_after": None})
        control(self.sim, "config", QUIRKS)

    def start_worker(self):
        self.workers_started += 1
        self.worker = Worker(self.db, self.server_id,
                             self.logs / f"worker-{self.workers_started}.log")

    # -- traffic ----------------------------------------------------------------------------

    def act(self, path, body=None):
        """One control request; a call that already ended (or a PBX restarting) is fine."""
        action = path.rsplit("/", 1)[-1]
        try:
            response = requests.post(f"{self.sim.url}/_sim/{path}", json=body or {},
                                     timeout=10)
        except requests.RequestException as exc:
            self.refused[f"{action} {type(exc).__name__}"] += 1
            return None
        if response.status_code >= 300:
            self.refused[f"{action} {response.status_code}"] += 1
            return None
        return response.json()

    def pause(self, rng, low, high):
        time.sleep(rng.uniform(low, high) * self.args.pace)

    def one_call(self, rng):
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        ext = rng.choice(EXTENSIONS)
        caller = f"+1555010{rng.randrange(2 * KNOWN_CALLERS):04d}"
        # PBX seconds, scaled by the simulator's speed: the ring timeout ends what nobody ends
        ring = {"voicemail": 8, "queue_missed": 8}.get(kind, 20)
        if kind.startswith("outbound"):
            to = {"outbound_busy": BUSY, "outbound_no_answer": NO_ANSWER}.get(
                kind, f"+1555020{rng.randrange(10000):04d}")
            call = self.act("calls/outbound", {"from": ext, "to": to})
        else:
            call = self.act("calls/inbound", {
                "from": caller, "to": QUEUE if kind.startswith("queue") else ext,
                "did": LISTING_LINE if rng.random() < 0.2 else "", "ring_seconds": ring})
        if call is None:
            return False
        self.kinds[kind] += 1
        callid = call["callid"]
        if kind in ("answered", "queue_answered", "transfer"):
            self.pause(rng, 0.05, 0.5)
            who = rng.choice(EXTENSIONS) if kind == "queue_answered" else ext
            self.act(f"calls/{callid}/answer", {"dn": who})
            self.pause(rng, 0.1, 1.2)
            if kind == "transfer":
                other = rng.choice([e for e in EXTENSIONS if e != who])
                self.act(f"calls/{callid}/transfer", {"dn": who, "destination": other})
                self.pause(rng, 0.05, 0.4)
                self.act(f"calls/{callid}/answer", {"dn": other})
                self.pause(rng, 0.1, 0.8)
            self.act(f"calls/{callid}/hangup", {"side": rng.choice(("caller", "callee"))})
        elif kind == "caller_gives_up":
            self.pause(rng, 0.05, 0.4)
            self.act(f"calls/{callid}/hangup", {"side": "caller"})
        elif kind == "outbound":
            self.pause(rng, 0.3, 1.5)  # the far end answers after 2 PBX seconds
            self.act(f"calls/{callid}/hangup", {"side": rng.choice(("caller", "callee"))})
        # voicemail, queue_missed, busy, no answer: the PBX ends them by itself
        return True

    def traffic(self, index):
        rng = random.Random(f"{self.args.seed}-{index}")
        while True:
            with self.placed_lock:  # a call's slot is taken before it is placed
                if self.placed >= self.args.calls:
                    return
                self.placed += 1
            if not self.one_call(rng):
                with self.placed_lock:
                    self.placed -= 1
                time.sleep(0.2)  # the PBX is restarting
            self.pause(rng, 0.0, 0.2)

    # -- faults -----------------------------------------------------------------------------

    def inject(self, kind, rng):
        if kind == "ws_drop":
            self.act("faults", {"drop_ws": True})
        elif kind == "token_revoke":
            self.act("faults", {"revoke_token": True})
        elif kind == "sim_restart":
            self.sim.restart()
            self.configure_pbx()
        elif kind == "worker_kill":
            self.killing = True
            self.worker.kill()
            self.worker.stop()
            time.sleep(rng.uniform(0.2, 3.0))
            self.start_worker()
            self.killing = False
        elif kind == "pg_restart":
            postgres("stop")
            time.sleep(rng.uniform(0.5, 3.0))
            postgres("start")
        self.faults[kind] += 1
        print(f"soak: {time.monotonic() - self.started:6.0f} s  {kind:<13} "
              f"({self.placed} calls placed)", flush=True)

    def faults_loop(self, plan):
        rng = random.Random(f"{self.args.seed}-faults")
        for after, kind in plan:
            while self.placed < after:
                time.sleep(0.05)
            self.inject(kind, rng)

    # -- the run ----------------------------------------------------------------------------

    def run(self):
        self.setup()
        self.started = time.monotonic()
        plan = fault_plan(self.rng, self.args.calls, self.args.fault_every)
        threads = [threading.Thread(target=self.traffic, args=(i,), daemon=True)
                   for i in range(self.args.concurrency)]
        for thread in threads:
            thread.start()
        faults = threading.Thread(target=self.faults_loop, args=(plan,), daemon=True)
        faults.start()
        last_report = time.monotonic()
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            self.check_worker()
            if time.monotonic() - last_report >= 30:
                last_report = time.monotonic()
                print(f"soak: {time.monotonic() - self.started:6.0f} s  {self.placed} calls "
                      "placed", flush=True)
        faults.join()
        traffic_s = time.monotonic() - self.started
        truth = self.settle()
        result = compare(truth, self.logged())
        twice = self.seen_twice()
        elapsed = time.monotonic() - self.started
        self.worker.stop()
        self.sim.stop()
        return self.summary(truth, result, twice, traffic_s, elapsed)

    def check_worker(self):
        """A worker that exits by itself is a bug: say so, and go on with a new one."""
        worker = self.worker
        if not self.killing and worker.proc.poll() is not None:
            self.worker_exits.append(str(worker.log_path))
            print(f"soak: the worker exited by itself (exit {worker.proc.returncode}); see "
                  f"{worker.log_path}", flush=True)
            worker.stop()
            self.start_worker()

    def settle(self):
        """Wait for the PBX to end every call, then for Odoo to agree (or the deadline)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            live = [c for c in self.truth() if c["ended_at"] is None]
            if not live:
                break
            for call in live:
                self.act(f"calls/{call['callid']}/hangup", {"side": "caller"})
            time.sleep(1)
            self.check_worker()
        truth = self.truth()
        # A worker behind (a loaded machine) writes its backlog for a while: wait as long as
        # it makes progress, and give up after ``settle`` seconds without any.
        began = last_progress = time.monotonic()
        fewest = None
        while time.monotonic() - last_progress < self.args.settle:
            result = compare(truth, self.logged())
            left = sum(len(v) for v in result.values())
            if not left:
                break
            if fewest is None or left < fewest:
                fewest, last_progress = left, time.monotonic()
            time.sleep(2)
            self.check_worker()
        self.settled_s = time.monotonic() - began
        return truth

    def truth(self):
        return requests.get(f"{self.sim.url}/_sim/calls", timeout=120).json()

    def logged(self):
        def read(env):
            env.cr.execute("SELECT call_id, state FROM threecx_call WHERE server_id = %s",
                           (self.server_id,))
            return env.cr.fetchall()

        return self.db.do(read)

    def seen_twice(self):
        """Read what the realtors were shown (bus notifications, activities, chatter lines)
        and find what came twice for one call (:func:`seen_twice`)."""
        def read(env):
            cr = env.cr
            cr.execute("""
                SELECT m->>'type', (b.channel::jsonb->>2)::int, m->'payload'->>'call_id',
                       m->'payload'->>'state', u.partner_id
                  FROM bus_bus b
                 CROSS JOIN LATERAL (SELECT b.message::jsonb AS m) msg
                  LEFT JOIN res_users u ON u.id = (m->'payload'->>'user_id')::int
                 WHERE b.message LIKE '%%realtor_3cx.call/%%'
                   AND b.channel::jsonb->>1 = 'res.partner'
                   AND (m->'payload'->>'server_id')::int = %s
                 ORDER BY b.id""", (self.server_id,))
            notifications = cr.fetchall()
            cr.execute("""
                SELECT c.call_id, a.activity_type_id FROM mail_activity a
                  JOIN threecx_call c ON c.id = a.res_id
                 WHERE a.res_model = 'threecx.call' AND c.server_id = %s""", (self.server_id,))
            call_backs = cr.fetchall()
            # One summary line per completed call on the contact's and the listing's chatter
            # (the line names no call id): more lines than calls on a record is a line twice.
            cr.execute("""
                SELECT model, res_id, count(*) FROM mail_message
                 WHERE model IN ('res.partner', 'realtor.property')
                   AND body LIKE '%%call with Soak Realtor%%' GROUP BY model, res_id""")
            lines = {(model, res_id): count for model, res_id, count in cr.fetchall()}
            chatter = []
            for column, model in (("partner_id", "res.partner"),
                                  ("property_id", "realtor.property")):
                cr.execute(f"""
                    SELECT {column}, count(*) FROM threecx_call
                     WHERE server_id = %s AND state = 'completed' AND {column} IS NOT NULL
                     GROUP BY {column}""", (self.server_id,))
                chatter += [(model, res_id, lines.get((model, res_id), 0), count)
                            for res_id, count in cr.fetchall()]
            return notifications, call_backs, chatter

        notifications, call_backs, chatter = self.db.do(read)
        # How much there was to see: a 0 below means something only beside these.
        self.shown = {
            "ringing": sum(1 for kind, *_ in notifications if kind == "realtor_3cx.call/ringing"),
            "outcome_prompt": sum(1 for kind, partner, _c, state, realtor in notifications
                                  if kind == "realtor_3cx.call/ended" and state == "completed"
                                  and partner == realtor),
            "call_back": len(call_backs),
            "chatter": sum(lines for _m, _r, lines, _calls in chatter),
        }
        return seen_twice(notifications, call_backs, chatter)

    def summary(self, truth, result, twice, traffic_s, elapsed):
        a = self.args
        print()
        print(f"soak: {len(truth)} calls run by the simulator ({self.placed} placed, seed "
              f"{a.seed}, {a.concurrency} at a time, PBX speed x{1 / a.speed:g})")
        print("  mix: " + ", ".join(f"{k} {self.kinds[k]}" for k in KINDS))
        print(f"  faults injected: {sum(self.faults.values())} (" + ", ".join(
            f"{k} {self.faults[k]}" for k in FAULTS) + ")")
        print(f"  control requests refused (the call had ended) or cut (PBX restarting): "
              f"{sum(self.refused.values())} (" + ", ".join(
                  f"{k} {v}" for k, v in self.refused.most_common(6)) + ")")
        states = collections.Counter(expected_state(c) for c in truth)
        print("  final states in 3CX: " + ", ".join(f"{k} {v}" for k, v in sorted(
            states.items())))
        print(f"  calls lost: {len(result['lost'])}")
        print(f"  calls in the wrong final state: {len(result['wrong'])}")
        print(f"  calls in Odoo unknown to 3CX: {len(result['unknown'])}")
        print("  seen twice for one call: " + ", ".join(
            f"{k.replace('_', ' ')} {len(v)} (of {self.shown[k]} shown)"
            for k, v in twice.items()))
        print(f"  workers that exited by themselves: {len(self.worker_exits)}")
        for name, items in twice.items():
            for item in items[:5]:
                print(f"    {name} twice: {item}")
        by_id = {str(c["callid"]): c for c in truth}
        for name in ("lost", "wrong", "unknown"):
            for item in result[name][:5]:
                call_id = item[0] if isinstance(item, tuple) else item
                call = by_id.get(call_id, {})
                print(f"    {name}: {item} {call.get('direction', '')} "
                      f"{call.get('result', '')} ended by {call.get('ended_by', '')}")
        print(f"  elapsed: {elapsed / 60:.1f} min ({traffic_s / 60:.1f} min of traffic; Odoo "
              f"agreed {self.settled_s:.0f} s after the last call ended)")
        failed = any(result.values()) or any(twice.values()) or bool(self.worker_exits)
        if failed:
            print(f"  logs: {self.logs}")
        print("soak: " + ("FAILED" if failed else "passed"))
        return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=24, help="calls placed at once")
    parser.add_argument("--speed", type=float, default=0.05,
                        help="the simulator's speed factor (0.05: a 20 s ring lasts 1 s)")
    parser.add_argument("--pace", type=float, default=1.0,
                        help="multiplies the pauses between a call's steps")
    parser.add_argument("--fault-every", type=float, default=200.0,
                        help="mean number of calls between two faults")
    parser.add_argument("--settle", type=float, default=180.0,
                        help="seconds without progress after which Odoo's records are final")
    parser.add_argument("--logs", default="", help="folder for the processes' logs")
    args = parser.parse_args(argv)
    logs = Path(args.logs or f"/tmp/realtor_3cx-soak-{int(time.time())}")
    logs.mkdir(parents=True, exist_ok=True)
    return Soak(args, logs).run()


if __name__ == "__main__":
    raise SystemExit(main())
