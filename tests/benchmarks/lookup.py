# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Caller lookup at 10k, 100k and 1M partners: ours against Odoo 18's own phone search and an
OCA-style suffix scan, on the same data, in one run.

Ours: ``threecx.caller.lookup.lookup()``, ranking included, on numbers typed in four different
formats, each with an empty record cache as in a new transaction:

- ``worker``: as the worker and the CRM-template endpoint call it (superuser, after their own
  authentication), on the path of every ringing call; the targets apply here;
- ``as_user``: as an interactive user over RPC (the admin: record rules applied; only the user
  and their companies loaded beforehand, as Odoo's request set-up does): the function's
  candidates, then the record rules asked about those ids only;
- ``as_user_orm``: the same user's lookup the way it was made before, beside it: the statement
  the ORM builds over the whole tables, record rules included (``_query_orm``);
- ``index_probe``: the bare SQL index probe both rely on.

The anchor, Odoo's own ways to find a partner by phone (``sms`` is installed in the benchmark
database, which gives res.partner ``mail.thread.phone``), through the ORM as superuser, with
the same empty cache, on the same numbers:

- ``odoo_phone_search``: ``search([("phone_mobile_search", "ilike", number)])``, what the
  Contacts search box does, on Odoo's own indexes for it (a btree and a pg_trgm GIN index on
  ``regexp_replace(phone|mobile, ...)``, created by ``mail.thread.phone.init()``); it returns
  ids only, where ours also reads names, last call and properties;
- ``odoo_phone_search_as_user``: the same search as the user of ``as_user``, beside it;
- ``odoo_sanitized``: ``search([("phone_sanitized", "=", <Odoo's E.164 of the number>)])``, the
  exact match crm and mass_mailing_sms use; Odoo 18 indexes ``phone_sanitized`` on crm.lead,
  not on res.partner, so this one scans.

Naive: base_phone's way, ``replace(phone, ' ', '') ILIKE '%<last 8 digits>'``, which can use no
index. Every way must find the same partner.

Each size is measured ``REPEATS`` times; a figure is the median of the runs (the runs are
printed beside it) and each ratio is taken within a run. A p99 comes from ``SAMPLES`` (1000)
lookups per run; the scans are too slow for that many, so they give their median and their
maximum of the few samples they had, named as such.
"""
import random

from .common import REPEATS, median_of_runs, quantile, timed_result

NAME = "lookup"
SIZES = (10_000, 100_000, 1_000_000)
SAMPLES = 1000  # per run: ours (both ways) and Odoo's phone search; a p99 needs 1000
SCAN_SAMPLES = {10_000: 60, 100_000: 20, 1_000_000: 8}  # per run, each scanning way
TARGET_P99_MS = 2.0
TARGET_ILIKE_RATIO = 100
# Ten-digit numbers that are *valid* NANP numbers (area code 212, exchanges 200-900), so that
# Odoo's phone_validation, which insists on validity, sanitises them: +1 212 200 0007, ...
BASE = 2_122_000_000


def digits(i):
    return str(BASE + i * 7)


def formats(i):
    d = digits(i)
    return [
        f"+1 {d[:3]} {d[3:6]} {d[6:]}",
        f"({d[:3]}) {d[3:6]}-{d[6:]}",
        f"001{d}",
        f"+1{d}",
    ]


def _plain_indexes(cr):
    """res_partner's indexes that back no constraint: (name, definition)."""
    cr.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
          FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
         WHERE x.indrelid = 'res_partner'::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """
    )
    return cr.fetchall()


def grow(cr, size):
    """Add bench partners up to ``size``, as the ORM would store them: phone as people type
    it, E.164 (ours) and phone_sanitized (Odoo's) computed, each its own commercial partner.

    The indexes are dropped for the insert and created again from their own definitions:
    building an index once is much faster than updating it a million times.
    """
    cr.execute("SELECT coalesce(max(ref::int), 0) FROM res_partner WHERE ref ~ '^[0-9]+$'")
    have = cr.fetchone()[0]
    # the database is new each run (tests/devenv.py): anything else would measure other data
    assert have <= size, f"{have} bench partners already: expected a fresh database"
    indexes = _plain_indexes(cr)
    for name, _definition in indexes:
        cr.execute(f'DROP INDEX "{name}"')
    cr.execute(
        """
        INSERT INTO res_partner (id, commercial_partner_id, name, complete_name, ref, active,
                                 type, is_company, partner_share, lang, color, message_bounce,
                                 phone, phone_e164, phone_sanitized, create_uid, write_uid,
                                 create_date, write_date)
        SELECT n, n, 'Bench ' || i, 'Bench ' || i, i::text, true, 'contact', false, true,
               'en_US', 0, 0, '+1 ' || substr(d, 1, 3) || ' ' || substr(d, 4, 3) || ' '
               || substr(d, 7, 4), '+1' || d, '+1' || d, 1, 1, now(), now()
          FROM (SELECT nextval('res_partner_id_seq') AS n, i, (%s + i * 7)::text AS d
                  FROM generate_series(%s, %s) i) s
        """,
        (BASE, have + 1, size),
    )
    cr.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, definition in indexes:
        cr.execute(definition)
    cr.execute("ANALYZE res_partner")
    cr.commit()
    assert {n for n, _d in _plain_indexes(cr)} == {n for n, _d in indexes}


# Columns the ORM fills differently for every record, or that the generator sets on purpose.
PER_RECORD = {"id", "name", "complete_name", "ref", "phone", "phone_e164", "phone_sanitized",
              "commercial_partner_id", "create_date", "write_date"}


def check_generated_rows(cr, env):
    """A generated partner is the row the ORM would have written for the same phone number
    (every column), and its E.164 columns are what ours and Odoo's code compute."""
    from odoo.addons.realtor_3cx.tools.phone import to_e164

    cr.execute("SAVEPOINT check_rows")
    number = formats(0)[0]
    made = env["res.partner"].create({"name": "Bench check", "phone": number})
    env.flush_all()
    cr.execute("SELECT * FROM res_partner WHERE id = %s", (made.id,))
    names = [c.name for c in cr.description]
    orm_row = dict(zip(names, cr.fetchone(), strict=True))
    cr.execute("SELECT * FROM res_partner WHERE ref = '1'")
    generated = dict(zip(names, cr.fetchone(), strict=True))
    differ = {n: (orm_row[n], generated[n]) for n in names
              if n not in PER_RECORD and orm_row[n] != generated[n]}
    assert not differ, f"generated partners differ from the ORM's: {differ}"
    assert orm_row["commercial_partner_id"] == made.id
    assert generated["commercial_partner_id"] == generated["id"]
    assert (orm_row["phone_e164"], orm_row["phone_sanitized"]) == ("+1" + digits(0),) * 2
    cr.execute("ROLLBACK TO SAVEPOINT check_rows")
    env.invalidate_all()

    cr.execute(
        "SELECT id, phone, phone_e164, phone_sanitized FROM res_partner WHERE ref ~ '^[0-9]+$' "
        "ORDER BY random() LIMIT 100"
    )
    for pid, phone, e164, sanitized in cr.fetchall():
        assert to_e164(phone, "US") == e164, (phone, e164)
        # what mail.thread.phone's _compute_phone_sanitized writes
        assert env["res.partner"].browse(pid)._phone_format(fname="phone") == sanitized, (
            phone, sanitized)


def check_odoo_indexes(cr, env):
    """Odoo's phone search runs on the indexes Odoo creates for it, trigram included."""
    assert env.registry.has_trigram, "pg_trgm is missing: Odoo's phone search would scan"
    names = {n for n, _d in _plain_indexes(cr)}
    wanted = {f"res_partner_{f}_partial_{kind}" for f in ("phone", "mobile")
              for kind in ("tgm", "gin_idx")}
    assert wanted <= names, f"Odoo's phone indexes missing: {sorted(wanted - names)}"


def explain_odoo(cr, number):
    """The plan of Odoo's own query, printed once per size: what the anchor really did."""
    term = "".join(c for c in number if c.isdigit())[1:]
    cr.execute(
        """
        EXPLAIN SELECT model.id FROM res_partner model
         WHERE (model.phone IS NOT NULL AND (
                REGEXP_REPLACE(model.phone, %s, '', 'g') ILIKE %s OR
                REGEXP_REPLACE(model.phone, %s, '', 'g') ILIKE %s))
            OR (model.mobile IS NOT NULL AND (
                REGEXP_REPLACE(model.mobile, %s, '', 'g') ILIKE %s OR
                REGEXP_REPLACE(model.mobile, %s, '', 'g') ILIKE %s))
        """,
        (r"[\s\\./\(\)\-]", "00" + term + "%", r"[\s\\./\(\)\-]", "+" + term + "%") * 2,
    )
    scans = sorted({line for (line,) in cr.fetchall() for line in [line.strip(" ->")]
                    if "Scan" in line and " on " in line})
    print("  Odoo's phone search plan: " + "; ".join(s.split("  (")[0] for s in scans))


class OrmStatementLookup:
    """A user's lookup through the ORM's statement over the whole tables (how it was made
    before the function served users too), with the same ranking."""

    def __init__(self, model):
        self.model = model
        self.env = model.env

    def lookup(self, number):
        from odoo.addons.realtor_3cx.tools.phone import to_e164

        model = self.model
        e164 = to_e164(number, model._company_region())
        model.env.flush_all()
        model._query_orm(e164, [e164])
        partners, _properties = model._rank(model.env.cr.fetchall())
        return {"partners": partners}


def measure(cr, env, ways, size, rng):
    """One run at ``size``: every way's samples, in seconds. The ways take turns at going
    first, so that none always finds the partner's pages already in PostgreSQL's buffers."""
    Partner = env["res.partner"]
    PartnerAsUser = ways["as_user"].env["res.partner"]
    us = env.ref("base.us")
    times = {name: [] for name in (*ways, "index_probe", "odoo_phone_search",
                                   "odoo_phone_search_as_user", "odoo_sanitized", "oca_ilike")}

    def ours(lookup, number):
        return [p["id"] for p in lookup.lookup(number)["partners"]]

    def odoo(model, domain):
        return model.search(domain).ids

    def sql(query, *params):
        cr.execute(query, params)
        return [r[0] for r in cr.fetchall()]

    for k in range(SAMPLES):
        i = rng.randint(1, size)
        number = rng.choice(formats(i))
        e164 = "+1" + digits(i)
        ways_now = [
            *((name, ours, lookup, number) for name, lookup in ways.items()),
            ("index_probe", sql, "SELECT id FROM res_partner"
             " WHERE (phone_e164 = %s OR mobile_e164 = %s) AND active", e164, e164),
            ("odoo_phone_search", odoo, Partner, [("phone_mobile_search", "ilike", number)]),
            ("odoo_phone_search_as_user", odoo, PartnerAsUser,
             [("phone_mobile_search", "ilike", number)]),
        ]
        if k < SCAN_SAMPLES[size]:
            ways_now += [
                ("odoo_sanitized", odoo, Partner, [("phone_sanitized", "=", Partner._phone_format(
                    number=number, country=us))]),
                ("oca_ilike", sql, "SELECT id FROM res_partner"
                 " WHERE replace(phone, ' ', '') ILIKE %s AND active", "%" + digits(i)[-8:]),
            ]
        if k % 2:
            ways_now.reverse()
        found = {}
        for name, fn, *args in ways_now:
            env.invalidate_all()
            # what every request loads before any controller runs
            _ = ways["as_user"].env.companies
            seconds, found[name] = timed_result(fn, *args)
            times[name].append(seconds)
        # every way finds the one partner with that number, and only it
        expected = Partner.search([("ref", "=", str(i))]).ids
        assert len(expected) == 1 and all(ids == expected for ids in found.values()), (
            number, found)
    return times


def run(bench):
    rng = random.Random(7)
    with bench.cursor() as cr:
        env = bench.env(cr)
        env.company.country_id = env.ref("base.us")
        admin = env.ref("base.user_admin")
        cr.commit()
        check_odoo_indexes(cr, env)
        ways = {
            "worker": env["threecx.caller.lookup"],
            "as_user": env(user=admin)["threecx.caller.lookup"],
            "as_user_orm": OrmStatementLookup(env(user=admin)["threecx.caller.lookup"]),
        }
        for size in SIZES:
            grow(cr, size)
            if size == SIZES[0]:
                check_generated_rows(cr, env)
            label = f"lookup_{size // 1000}k" if size < 1_000_000 else "lookup_1m"
            explain_odoo(cr, formats(size // 2)[0])
            runs = [measure(cr, env, ways, size, rng) for _ in range(REPEATS)]
            report(bench, label, size, runs)
        cr.rollback()


def report(bench, label, size, runs):
    def figure(name, measure, unit="ms", ratio=None, target=None, check=None):
        value, values = median_of_runs(runs, measure)
        if ratio is not None:
            ratio = median_of_runs(runs, ratio)[0]
        bench.figure(f"{label}_{name}", value, unit, runs=values, ratio=ratio, target=target,
                     met=check(value) if check else None)

    def p50(way):
        return lambda run: quantile(run[way], 0.5)

    def p99(way):
        return lambda run: quantile(run[way], 0.99)

    def worst(way):
        return lambda run: max(run[way]) * 1000

    def ratio(theirs, ours):
        return lambda run: theirs(run) / ours(run)

    scans = SCAN_SAMPLES[size]
    odoo = "odoo_phone_search"
    figure("worker_p50", p50("worker"), ratio=ratio(p50(odoo), p50("worker")))
    figure("worker_p99", p99("worker"), ratio=ratio(p99(odoo), p99("worker")),
           target=f"< {TARGET_P99_MS} ms", check=lambda v: v < TARGET_P99_MS)
    figure("as_user_p50", p50("as_user"))
    figure("as_user_p99", p99("as_user"))
    figure("as_user_orm_p50", p50("as_user_orm"))
    figure("as_user_orm_p99", p99("as_user_orm"))
    figure("index_probe_p50", p50("index_probe"))
    figure("index_probe_p99", p99("index_probe"))
    figure(f"{odoo}_p50", p50(odoo))
    figure(f"{odoo}_p99", p99(odoo))
    figure(f"{odoo}_as_user_p50", p50(f"{odoo}_as_user"))
    figure(f"{odoo}_as_user_p99", p99(f"{odoo}_as_user"))
    figure("odoo_sanitized_p50", p50("odoo_sanitized"))
    figure(f"odoo_sanitized_max_of_{scans}", worst("odoo_sanitized"))
    figure("oca_ilike_p50", p50("oca_ilike"))
    figure(f"oca_ilike_max_of_{scans}", worst("oca_ilike"))
    # Ours must stay ahead of Odoo's own at every size, and far ahead of a scan at scale.
    figure(f"ratio_{odoo}_p50", ratio(p50(odoo), p50("worker")), "x",
           target="> 1", check=lambda v: v > 1)
    figure(f"ratio_{odoo}_p99", ratio(p99(odoo), p99("worker")), "x",
           target="> 1", check=lambda v: v > 1)
    figure("ratio_odoo_sanitized_p50", ratio(p50("odoo_sanitized"), p50("worker")), "x")
    at_scale = size == SIZES[-1]
    figure("ratio_oca_ilike_p50", ratio(p50("oca_ilike"), p50("worker")), "x",
           target=f">= {TARGET_ILIKE_RATIO}" if at_scale else None,
           check=(lambda v: v >= TARGET_ILIKE_RATIO) if at_scale else None)
    # As a user too, ours must stay ahead of Odoo's own search made as that user.
    figure(f"as_user_ratio_{odoo}_as_user_p50",
           ratio(p50(f"{odoo}_as_user"), p50("as_user")), "x",
           target="> 1", check=lambda v: v > 1)
    figure(f"as_user_ratio_{odoo}_as_user_p99",
           ratio(p99(f"{odoo}_as_user"), p99("as_user")), "x",
           target="> 1", check=lambda v: v > 1)
    figure("as_user_ratio_orm_statement_p50", ratio(p50("as_user_orm"), p50("as_user")), "x")
