# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The outbound rule check at 1,000,000 contacts and 10,000,000 calls: ours against the same
decision written the plain ORM way, on the same data, in one run.

The data, made with SQL in the benchmark database (``generate_series``; indexes dropped for
the load and built again from their own definitions, the roll-up's triggers off: the
dashboard is not what is measured here, and this benchmark runs last): a million contacts
with Florida numbers (305, each its own commercial partner, no time zone of their own, so
the number's zone decides), and ten million calls over a year, six in ten outbound, to them
and their numbers. On top, every 50th contact already had three outbound calls in the last
20 hours: Florida's rule allows three in 24 h, so the check must refuse a fourth. Each check
is made at ``when``, a moment within Florida's calling hours, so that every check goes as
far as the call cap, the costliest part.

Ours, each with an empty record cache as in a new transaction (the rules' table stays cached
per registry, and a number's jurisdiction and time zones per process, as in production; each
sample's number is new to the first way that checks it):

- ``block``: ``res.partner._realtor_3cx_outbound_block(number, when)``, what every outbound
  path calls: the number read, the caller lookup (everyone the number belongs to, every
  company), do-not-call, Odoo's phone blacklist, the rule of the number's jurisdiction, its
  hours, days, holidays and call cap; one statement (``realtor_3cx_outbound_facts``). What it
  does not count: the row a refused click-to-call then writes in the compliance log;
- ``rule_check``: ``partners._realtor_3cx_restriction(number, when)``, the rule itself for a
  caller that already knows the contacts (the CRM-template lookup, a ReportCall);
- ``cap_query``: the bare SQL of the call cap (one query on two partial indexes), the part of
  that statement the data's size weighs on.

The anchor, the same decision as an Odoo developer would write it with the ORM
(``odoo_orm``): the contacts by ``phone_mobile_search`` (Odoo's own phone search, on its
trigram indexes), do-not-call by ``filtered``, ``phone.blacklist`` by ``search_count``, the
rule by ``search`` on country and state, the window by the same helpers, and the cap by
``search_count`` over the calls then ``search(limit=)`` for when it lifts. Then the call cap
on Odoo's single-column indexes only (``cap_query_without_partial_indexes``: ours with the two
partial indexes dropped in a savepoint), what the partial indexes are worth. Every way gives
the same answer on every sample.
"""

import datetime
import random

import pytz

from .common import REPEATS, median_of_runs, quantile, timed, timed_result
from .lookup import _plain_indexes

NAME = "rules"
PARTNERS = 1_000_000
CALLS = 10_000_000
SAMPLES = 1000  # per run: a p99 needs 1000
TARGET_MS = 1.0
# Valid Florida numbers (area code 305, exchanges 200 to 899): +1 305 200 0007, ...
BASE = 3_052_000_000
CAPPED_EVERY = 50  # every 50th contact has had three outbound calls in the last 20 h
CAP = 3
REF = "rules-"  # the contacts' ref and the calls' call_id start with it
PARTIAL_INDEXES = ("threecx_call_outbound_external_e164_start_idx",
                   "threecx_call_outbound_partner_id_start_idx")


def digits(i):
    return str(BASE + i * 7)


def formats(i):
    d = digits(i)
    return [f"+1 {d[:3]} {d[3:6]} {d[6:]}", f"({d[:3]}) {d[3:6]}-{d[6:]}", f"+1{d}"]


def _indexes(cr, table):
    """The table's indexes that back no constraint: (name, definition)."""
    if table == "res_partner":
        return _plain_indexes(cr)
    cr.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
          FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
         WHERE x.indrelid = %s::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """,
        (table,),
    )
    return cr.fetchall()


def _bulk(cr, table, insert, params):
    """``insert`` into ``table`` with its plain indexes, unique and foreign-key constraints
    dropped, then made again from their own definitions (building an index or checking a key
    once over the table is much faster than doing it ten million times, row by row); the
    table's own triggers (the call roll-up's) are off for the load. (load s, rebuild s)"""
    indexes = _indexes(cr, table)
    cr.execute("""SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                   WHERE conrelid = %s::regclass AND contype IN ('u', 'f')""", (table,))
    constraints = cr.fetchall()
    for name, _definition in constraints:
        cr.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cr.execute(f'DROP INDEX "{name}"')
    cr.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
    load = timed(cr.execute, insert, params)
    cr.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
    cr.execute("SET LOCAL maintenance_work_mem = '256MB'")

    def rebuild():
        for _name, definition in indexes:
            cr.execute(definition)
        for name, definition in constraints:
            cr.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')

    build = timed(rebuild)
    cr.execute(f'ANALYZE "{table}"')
    assert {n for n, _d in _indexes(cr, table)} == {n for n, _d in indexes}
    return load, build


def required_defaults(cr, env, table, model, given):
    """``(columns, values)`` for the NOT NULL columns of ``table`` an INSERT does not set in
    ``given``: each field's default, as the ORM would write it (so that a required field added
    later does not break the load)."""
    cr.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL""",
        (table,))
    missing = sorted({row[0] for row in cr.fetchall()} - set(given))
    defaults = env[model].default_get(missing)
    assert set(defaults) == set(missing), f"no default for {set(missing) - set(defaults)}"
    columns = "".join(f', "{name}"' for name in missing)
    values = "".join(f", %(default_{name})s" for name in missing)
    return columns, values, {f"default_{name}": defaults[name] for name in missing}


def when_allowed(env):
    """A moment (naive UTC) within Florida's rule in Miami: today or an earlier day at
    16:00 UTC (11:00 or 12:00 there), on a day the rule allows."""
    from odoo.addons.realtor_3cx.models.res_partner_outbound import _closed_reason

    rule = env["threecx.calling.rule"]._realtor_3cx_rule_for_number("+1" + digits(1))
    assert rule["attempt_limit"] == CAP, rule  # the seeded Florida rule governs 305
    miami = pytz.timezone("America/New_York")
    day = datetime.datetime.utcnow().replace(hour=16, minute=0, second=0, microsecond=0)
    while _closed_reason(rule, pytz.utc.localize(day).astimezone(miami)):
        day -= datetime.timedelta(days=1)
    return day, rule


def populate(cr, env, when):
    """The contacts and the calls, unless this database has them already: seconds spent."""
    cr.execute("SELECT count(*) FROM res_partner WHERE ref LIKE %s", (REF + "%",))
    spent = {}
    if cr.fetchone()[0] < PARTNERS:
        spent["partners"] = _bulk(cr, "res_partner", """
            INSERT INTO res_partner (id, commercial_partner_id, name, complete_name, ref,
                                     active, type, is_company, partner_share, lang, color,
                                     message_bounce, phone, phone_e164, phone_sanitized,
                                     create_uid, write_uid, create_date, write_date)
            SELECT n, n, 'Rules Bench ' || i, 'Rules Bench ' || i, %(ref)s || i, true,
                   'contact', false, true, 'en_US', 0, 0,
                   '+1 ' || substr(d, 1, 3) || ' ' || substr(d, 4, 3) || ' ' || substr(d, 7, 4),
                   '+1' || d, '+1' || d, 1, 1, now(), now()
              FROM (SELECT nextval('res_partner_id_seq') AS n, i, (%(base)s + i * 7)::text AS d
                      FROM generate_series(1, %(n)s) i) s
            """, {"ref": REF, "base": BASE, "n": PARTNERS})
        cr.commit()
    cr.execute("SELECT count(*) FROM threecx_call WHERE call_id LIKE %s", (REF + "%",))
    have = cr.fetchone()[0]
    if have >= CALLS:
        return spent
    # the database is new each run (tests/devenv.py): anything else would measure other data
    assert not have, f"{have} of the benchmark's calls already: expected a fresh database"
    cr.execute("SELECT min(id) FROM res_partner WHERE ref = %s", (REF + "1",))
    first = cr.fetchone()[0]
    users = env["res.users"].create([
        {"name": f"Rules Bench Realtor {n}", "login": f"rules_bench_realtor_{n}",
         "groups_id": [(4, env.ref("realtor_3cx.realtor_3cx_group_user").id)]}
        for n in range(20)])
    server = env["threecx.server"].create(
        {"name": "Rules bench PBX", "base_url": "https://rules-bench.example.com"})
    env.flush_all()
    # Call i is to contact 1 + (i * 7919) % PARTNERS (each about ten calls, spread over the
    # year), about three seconds before call i - 1; the first CALLS // 100 * 6 are three
    # calls in the last 20 h to every CAPPED_EVERY-th contact.
    capped = PARTNERS // CAPPED_EVERY * CAP
    columns, values, defaults = required_defaults(cr, env, "threecx_call", "threecx.call", (
        "id", "server_id", "call_id", "direction", "state", "user_id", "partner_id", "start_at",
        "company_id", "external_number", "external_e164"))
    spent["calls"] = _bulk(cr, "threecx_call", f"""
        INSERT INTO threecx_call (id, server_id, call_id, direction, state, user_id, partner_id,
                                  start_at, answer_at, end_at, ring_seconds, talk_seconds,
                                  company_id, external_number, external_e164,
                                  create_uid, write_uid, create_date, write_date{columns})
        SELECT nextval('threecx_call_id_seq'), %(server)s, %(ref)s || i, s.direction,
               'completed', (%(users)s::int[])[1 + i %% 20], %(first)s + s.p - 1, s.t,
               s.t + interval '9 seconds', s.t + interval '69 seconds', 9, 60, %(company)s,
               '+1' || (%(base)s + s.p * 7), '+1' || (%(base)s + s.p * 7),
               1, 1, now(), now(){values}
          FROM generate_series(1, %(calls)s) i,
               LATERAL (SELECT
                   CASE WHEN i <= %(capped)s THEN 1 + ((i - 1) / %(cap)s) * %(every)s
                        ELSE 1 + (i::bigint * 7919) %% %(partners)s END AS p,
                   CASE WHEN i <= %(capped)s THEN 'outbound'
                        ELSE (ARRAY['outbound', 'outbound', 'outbound', 'inbound', 'inbound',
                                    'outbound', 'outbound', 'inbound', 'outbound',
                                    'inbound'])[1 + i %% 10] END AS direction,
                   CASE WHEN i <= %(capped)s
                        THEN %(when)s - (1 + (i - 1) %% %(cap)s) * interval '5 hours'
                             - (i %% 3600) * interval '1 second'
                        ELSE %(when)s - (i - %(capped)s) * interval '3.15 seconds' END AS t
               ) s
        """, {"server": server.id, "ref": REF, "users": users.ids, "first": first,
              "company": env.company.id, "base": BASE, "calls": CALLS, "capped": capped,
              "cap": CAP, "every": CAPPED_EVERY, "partners": PARTNERS, "when": when,
              **defaults})
    cr.commit()
    return spent


class OrmWay:
    """The same decision written the plain ORM way, as an Odoo developer would."""

    def __init__(self, env):
        self.env = env

    def check(self, number, when):
        from odoo.addons.realtor_3cx.models.res_partner_outbound import (
            _closed_reason,
            _next_open,
        )
        from odoo.addons.realtor_3cx.tools.phone import time_zones, to_e164
        from odoo.addons.realtor_3cx.tools.phone_tz import jurisdiction_for

        env = self.env
        e164 = to_e164(number, env.company.country_id.code)
        partners = env["res.partner"].with_context(active_test=False).search(
            [("phone_mobile_search", "ilike", number)])
        if partners.filtered("do_not_call") or env["phone.blacklist"].search_count(
                [("number", "=", e164)]):
            return "do_not_call", None
        country, region = jurisdiction_for(e164)
        Rule = env["threecx.calling.rule"]
        state = env["res.country.state"].search(
            [("country_id.code", "=", country), "|", ("name", "=ilike", region),
             ("code", "=", region.rsplit(", ", 1)[-1])], limit=1)
        rule = (state and Rule.search([("country_id.code", "=", country),
                                       ("state_id", "=", state.id)], limit=1)) \
            or Rule.search([("country_id.code", "=", country), ("state_id", "=", False)],
                           limit=1) \
            or Rule.search([("country_id", "=", False)], limit=1)
        data = rule._realtor_3cx_rule_data()
        utc = pytz.utc.localize(when)
        zones = [pytz.timezone(tz) for tz in time_zones(e164)]
        for tz in zones:
            if _closed_reason(data, utc.astimezone(tz)):
                return "calling_window", _next_open(data, zones, utc).replace(tzinfo=None)
        if not rule.attempt_limit:
            return None, None
        domain = [("direction", "=", "outbound"),
                  ("start_at", ">", when - datetime.timedelta(hours=rule.attempt_window_hours)),
                  ("start_at", "<", when), "|", ("external_e164", "=", e164),
                  ("partner_id", "in", partners.ids)]
        Call = env["threecx.call"].sudo()
        if Call.search_count(domain) < rule.attempt_limit:
            return None, None
        oldest = Call.search(domain, order="start_at desc", limit=rule.attempt_limit)[-1]
        release = oldest.start_at + datetime.timedelta(hours=rule.attempt_window_hours)
        return "attempt_cap", _next_open(data, zones, pytz.utc.localize(release)).replace(
            tzinfo=None)


def cap_sql(cr, e164, partner_ids, when, hours=24, limit=CAP):
    """The call cap's query, as ``realtor_3cx_outbound_facts`` (res_partner_outbound.py)
    makes it."""
    cr.execute(
        """SELECT start_at FROM threecx_call
            WHERE direction = 'outbound' AND start_at > %s AND start_at < %s
              AND (external_e164 = %s OR partner_id = ANY(%s))
         ORDER BY start_at DESC LIMIT %s""",
        (when - datetime.timedelta(hours=hours), when, e164, partner_ids, limit))
    return [row[0] for row in cr.fetchall()]


def samples(rng, first):
    """(number as typed, E.164, contact id, capped): a third capped contacts, the rest
    anyone."""
    picked = []
    for k in range(SAMPLES):
        if k % 3 == 0:
            i = 1 + rng.randrange(PARTNERS // CAPPED_EVERY) * CAPPED_EVERY
        else:
            i = rng.randint(1, PARTNERS)
        picked.append((rng.choice(formats(i)), "+1" + digits(i), first + i - 1,
                       i % CAPPED_EVERY == 1))
    return picked


def measure(cr, env, when, rng, first):
    Partner = env["res.partner"]
    orm = OrmWay(env)
    times = {name: [] for name in ("block", "rule_check", "cap_query", "odoo_orm",
                                   "round_trip")}
    refused = 0
    for k, (number, e164, partner_id, capped) in enumerate(samples(rng, first)):
        ways = [
            ("block", Partner._realtor_3cx_outbound_block, number, when),
            ("rule_check", Partner.browse(partner_id)._realtor_3cx_restriction, e164, when),
            ("cap_query", cap_sql, cr, e164, [partner_id], when),
            ("odoo_orm", orm.check, number, when),
            ("round_trip", cr.execute, "SELECT 1"),
        ]
        if k % 2:
            ways.reverse()
        found = {}
        for name, fn, *args in ways:
            env.invalidate_all()
            seconds, found[name] = timed_result(fn, *args)
            times[name].append(seconds)
        # every way says the same: refused by the cap exactly for the capped contacts, and
        # allowed again at the same moment
        restriction = found["rule_check"]
        assert found["block"] == (e164, restriction["message"] if restriction else False), found
        assert (len(found["cap_query"]) >= CAP) == capped == bool(restriction), (number, found)
        assert found["odoo_orm"] == ((restriction["kind"], restriction["allowed_at"])
                                     if restriction else (None, None)), (number, found)
        refused += bool(restriction)
    times["refused"] = refused
    return times


def measure_without_partial_indexes(cr, when, rng, first):
    """The cap query with Odoo's single-column indexes only (ours dropped in a savepoint)."""
    cr.execute("SAVEPOINT no_partial")
    for name in PARTIAL_INDEXES:
        cr.execute(f'DROP INDEX "{name}"')
    times = []
    for number, e164, partner_id, capped in samples(rng, first)[: SAMPLES // 10]:
        seconds, starts = timed_result(cap_sql, cr, e164, [partner_id], when)
        assert (len(starts) >= CAP) == capped, number
        times.append(seconds)
    cr.execute("ROLLBACK TO SAVEPOINT no_partial")
    return times


def run(bench):
    import os

    rng = random.Random(19)
    with bench.cursor() as cr:
        env = bench.env(cr)
        env.company.country_id = env.ref("base.us")
        env.flush_all()
        cr.commit()
        when, _rule = when_allowed(env)
        print(f"  checks at {when} UTC; load average {os.getloadavg()[0]:.1f}", flush=True)
        spent = populate(cr, env, when)
        for what, (load, build) in spent.items():
            print(f"  {what}: loaded in {load:.0f} s, indexes and keys made again in "
                  f"{build:.0f} s",
                  flush=True)
        cr.execute("SELECT count(*) FROM res_partner")
        partners = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM threecx_call")
        calls = cr.fetchone()[0]
        assert partners >= PARTNERS and calls >= CALLS, (partners, calls)
        print(f"  {partners} contacts and {calls} calls in the database", flush=True)
        cr.execute("SELECT min(id) FROM res_partner WHERE ref = %s", (REF + "1",))
        first = cr.fetchone()[0]
        cr.execute("EXPLAIN " + CAP_EXPLAIN, (when - datetime.timedelta(hours=24), when,
                                              "+1" + digits(51), [first + 50]))
        plan = [line.strip(" ->") for (line,) in cr.fetchall()]
        print("  the cap's plan: " + "; ".join(
            line.split("  (")[0] for line in plan if "Scan" in line), flush=True)
        runs = []
        for _ in range(REPEATS):
            times = measure(cr, env, when, rng, first)
            times["cap_query_without_partial_indexes"] = measure_without_partial_indexes(
                cr, when, rng, first)
            print(f"  run: {times['refused']} of {SAMPLES} refused by the cap; load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
            runs.append(times)
        cr.rollback()
    report(bench, runs, partners, calls)


CAP_EXPLAIN = """SELECT start_at FROM threecx_call
    WHERE direction = 'outbound' AND start_at > %s AND start_at < %s
      AND (external_e164 = %s OR partner_id = ANY(%s))
 ORDER BY start_at DESC LIMIT 3"""


def report(bench, runs, partners, calls):
    label = "rules_1m_partners_10m_calls"

    def figure(name, measure, unit="ms", ratio=None, target=None):
        value, values = median_of_runs(runs, measure)
        if ratio is not None:
            ratio = median_of_runs(runs, ratio)[0]
        bench.figure(f"{label}_{name}", value, unit, runs=values, ratio=ratio, target=target,
                     met=(value < TARGET_MS) if target else None)

    def p(way, q):
        return lambda run: quantile(run[way], q)

    def ratio(way, q, theirs="odoo_orm"):
        return lambda run: quantile(run[theirs], q) / quantile(run[way], q)

    target = f"< {TARGET_MS:g} ms"
    figure("rule_check_p50", p("rule_check", 0.5), ratio=ratio("rule_check", 0.5),
           target=target)
    figure("rule_check_p99", p("rule_check", 0.99), ratio=ratio("rule_check", 0.99),
           target=target)
    figure("block_p50", p("block", 0.5), ratio=ratio("block", 0.5), target=target)
    figure("block_p99", p("block", 0.99), ratio=ratio("block", 0.99))
    figure("cap_query_p50", p("cap_query", 0.5))
    figure("cap_query_p99", p("cap_query", 0.99))
    # The floor: one query that does nothing, in the same loop (on a loaded machine its p99
    # is the scheduler's, and any check that asks PostgreSQL anything pays it).
    figure("select_1_round_trip_p50", p("round_trip", 0.5))
    figure("select_1_round_trip_p99", p("round_trip", 0.99))
    figure("odoo_orm_p50", p("odoo_orm", 0.5))
    figure("odoo_orm_p99", p("odoo_orm", 0.99))
    figure("cap_query_without_partial_indexes_p50",
           p("cap_query_without_partial_indexes", 0.5),
           ratio=lambda run: quantile(run["cap_query_without_partial_indexes"], 0.5)
           / quantile(run["cap_query"], 0.5))
    figure("cap_query_without_partial_indexes_max",
           lambda run: max(run["cap_query_without_partial_indexes"]) * 1000)
    bench.figure(f"{label}_refused_by_the_cap", runs[0]["refused"], f"of {SAMPLES} checks")
    bench.figure(f"{label}_data", f"{partners} / {calls}", "contacts / calls")
