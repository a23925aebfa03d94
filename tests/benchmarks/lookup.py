# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Caller lookup at 10k, 100k and 1M partners: ours against an OCA-style suffix scan.

Ours: ``threecx.caller.lookup.lookup()``, ranking included, on numbers typed in four different
formats, each with an empty record cache as in a new transaction:

- ``worker``: as the worker and the CRM-template endpoint call it (superuser, after their own
  authentication), on the path of every ringing call; the targets apply here;
- ``as_user``: as an interactive user over RPC (the admin: record rules applied; only the user
  and their companies loaded beforehand, as Odoo's request set-up does);
- ``index_probe``: the bare SQL index probe both rely on.
Naive: base_phone's way, ``replace(phone, ' ', '') ILIKE '%<last 8 digits>'``, which can use no
index. Both must find the same partner; the ratio is naive / ours (worker).
"""
import random

from .common import percentiles, timed

NAME = "lookup"
SIZES = (10_000, 100_000, 1_000_000)
OURS_SAMPLES = 2000
NAIVE_SAMPLES = {10_000: 300, 100_000: 100, 1_000_000: 30}
TARGET_P99_MS = 2.0
TARGET_RATIO = 100
BASE = 2_002_000_000  # ten-digit NANP-shaped numbers: +1 200 200 0007, ...


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


def grow(cr, size):
    """Add bench partners up to ``size``; phone as people type it, E.164 as Odoo stores it."""
    cr.execute("SELECT coalesce(max(ref::int), 0) FROM res_partner WHERE ref ~ '^[0-9]+$'")
    have = cr.fetchone()[0]
    # the database is new each run (tests/devenv.py): anything else would measure other data
    assert have <= size, f"{have} bench partners already: expected a fresh database"
    cr.execute(
        """
        INSERT INTO res_partner (name, complete_name, ref, active, type, is_company, phone,
                                 phone_e164, create_date, write_date)
        SELECT 'Bench ' || i, 'Bench ' || i, i::text, true, 'contact', false,
               '+1 ' || substr(d, 1, 3) || ' ' || substr(d, 4, 3) || ' ' || substr(d, 7, 4),
               '+1' || d, now(), now()
          FROM (SELECT i, (%s + i * 7)::text AS d FROM generate_series(%s, %s) i) s
        """,
        (BASE, have + 1, size),
    )
    cr.execute("ANALYZE res_partner")
    cr.commit()


def check_generated_numbers(cr):
    """The SQL-generated E.164 column is what the addon itself would compute."""
    from odoo.addons.realtor_3cx.tools.phone import to_e164

    cr.execute(
        "SELECT phone, phone_e164 FROM res_partner WHERE ref ~ '^[0-9]+$' "
        "ORDER BY random() LIMIT 200"
    )
    for phone, e164 in cr.fetchall():
        assert to_e164(phone, "US") == e164, (phone, e164)


def run(bench):
    rng = random.Random(7)
    with bench.cursor() as cr:
        env = bench.env(cr)
        env.company.country_id = env.ref("base.us")
        admin = env.ref("base.user_admin")
        cr.commit()
        lookups = {
            "worker": env["threecx.caller.lookup"],
            "as_user": env(user=admin)["threecx.caller.lookup"],
        }
        for size in SIZES:
            grow(cr, size)
            check_generated_numbers(cr)
            label = f"lookup_{size // 1000}k" if size < 1_000_000 else "lookup_1m"
            times = {name: [] for name in lookups}
            probe = []
            for _ in range(OURS_SAMPLES):
                i = rng.randint(1, size)
                number = rng.choice(formats(i))
                for name, lookup in lookups.items():
                    env.invalidate_all()
                    _ = lookup.env.companies  # what every request loads before any controller runs
                    result = {}
                    times[name].append(timed(
                        lambda n=number, r=result, lk=lookup: r.update(lk.lookup(n))))
                    assert [p["name"] for p in result["partners"]] == [f"Bench {i}"], (
                        number, result,
                    )
                e164 = "+1" + digits(i)
                probe.append(
                    timed(
                        cr.execute,
                        "SELECT id FROM res_partner WHERE (phone_e164 = %s OR mobile_e164 = %s)"
                        " AND active",
                        (e164, e164),
                    )
                )
            naive = []
            for _ in range(NAIVE_SAMPLES[size]):
                i = rng.randint(1, size)
                pattern = "%" + digits(i)[-8:]
                naive.append(
                    timed(
                        cr.execute,
                        "SELECT id FROM res_partner WHERE replace(phone, ' ', '') ILIKE %s"
                        " AND active",
                        (pattern,),
                    )
                )
                assert cr.fetchall(), pattern
            ours_p50, ours_p99 = percentiles(times["worker"])
            user_p50, user_p99 = percentiles(times["as_user"])
            probe_p50, probe_p99 = percentiles(probe)
            naive_p50, naive_p99 = percentiles(naive)
            at_scale = size == SIZES[-1]
            bench.figure(f"{label}_worker_p50", ours_p50, "ms", ratio=naive_p50 / ours_p50)
            bench.figure(
                f"{label}_worker_p99", ours_p99, "ms",
                target=f"< {TARGET_P99_MS} ms", met=ours_p99 < TARGET_P99_MS,
                ratio=naive_p99 / ours_p99,
            )
            bench.figure(f"{label}_as_user_p50", user_p50, "ms", ratio=naive_p50 / user_p50)
            bench.figure(f"{label}_as_user_p99", user_p99, "ms")
            bench.figure(f"{label}_index_probe_p50", probe_p50, "ms")
            bench.figure(f"{label}_index_probe_p99", probe_p99, "ms")
            bench.figure(f"{label}_naive_ilike_p50", naive_p50, "ms")
            bench.figure(f"{label}_naive_ilike_p99", naive_p99, "ms")
            bench.figure(
                f"{label}_ratio_p50", naive_p50 / ours_p50, "x",
                **({"target": f">= {TARGET_RATIO}", "met": naive_p50 / ours_p50 >= TARGET_RATIO}
                   if at_scale else {}),
            )
            bench.figure(
                f"{label}_ratio_p99", naive_p99 / ours_p99, "x",
                **({"target": f">= {TARGET_RATIO}", "met": naive_p99 / ours_p99 >= TARGET_RATIO}
                   if at_scale else {}),
            )
            bench.figure(f"{label}_as_user_ratio_p50", naive_p50 / user_p50, "x")
        cr.rollback()
