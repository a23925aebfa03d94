# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The manager's pivot over 1,000,000 calls: calls, talk and ring time by realtor and month.

Ours: the ``read_group`` the pivot view sends, as a telephony manager (record rules applied).
Naive: fetching the rows and grouping them in Python, as an export-then-pivot would. Both must
give the same totals.
"""
import statistics
from collections import defaultdict

from .common import timed

NAME = "report"
CALLS = 1_000_000
REALTORS = 20
RUNS = 5
TARGET_S = 1.0


def populate(bench, cr, env):
    cr.execute("SELECT count(*) FROM threecx_call WHERE call_id LIKE 'bench-%%'")
    if cr.fetchone()[0] >= CALLS:
        return
    users = env["res.users"].create(
        [
            {
                "name": f"Bench Realtor {n}",
                "login": f"bench_realtor_{n}",
                "groups_id": [(4, env.ref("realtor_3cx.realtor_3cx_group_user").id)],
            }
            for n in range(REALTORS)
        ]
    )
    server = env["threecx.server"].create(
        {"name": "Bench PBX", "base_url": "https://bench.example.com"}
    )
    env.flush_all()
    cr.execute(
        """
        INSERT INTO threecx_call (server_id, call_id, direction, state, user_id, start_at,
                                  answer_at, end_at, ring_seconds, talk_seconds, company_id,
                                  external_number, external_e164, recording_consent,
                                  create_date, write_date)
        SELECT %(server)s, 'bench-' || i,
               (ARRAY['inbound', 'outbound', 'internal'])[1 + i %% 3],
               s.state, (%(users)s::int[])[1 + i %% %(n)s], s.t,
               CASE WHEN s.state = 'completed' THEN s.t + interval '9 seconds' END,
               s.t + interval '9 seconds' + (i %% 600) * interval '1 second',
               9, CASE WHEN s.state = 'completed' THEN i %% 600 ELSE 0 END, %(company)s,
               '+1555' || lpad((i %% 10000000)::text, 7, '0'),
               '+1555' || lpad((i %% 10000000)::text, 7, '0'), 'unknown', now(), now()
          FROM generate_series(1, %(calls)s) i,
               LATERAL (SELECT now() - (i %% 525600) * interval '1 minute' AS t,
                               (ARRAY['completed', 'completed', 'completed', 'missed',
                                      'voicemail', 'busy'])[1 + i %% 6] AS state) s
        """,
        {"server": server.id, "users": users.ids, "n": REALTORS, "calls": CALLS,
         "company": env.company.id},
    )
    cr.execute("ANALYZE threecx_call")
    cr.commit()


def run(bench):
    with bench.cursor() as cr:
        env = bench.env(cr)
        populate(bench, cr, env)
        manager = env.ref("realtor_3cx.user_manager", raise_if_not_found=False) or env.ref(
            "base.user_admin"
        )
        Call = env(user=manager)["threecx.call"]
        groups = []

        def pivot():
            groups[:] = Call.read_group(
                [], ["talk_seconds:sum", "ring_seconds:sum"], ["user_id", "start_at:month"],
                lazy=False,
            )

        ours = []
        for _ in range(RUNS):
            env.invalidate_all()
            ours.append(timed(pivot))
        totals = defaultdict(int)

        def naive():
            totals.clear()
            cr.execute(
                "SELECT user_id, date_trunc('month', start_at), talk_seconds FROM threecx_call"
            )
            for user_id, month, talk in cr.fetchall():
                totals[(user_id, month)] += talk

        naive_time = timed(naive)
        assert sum(g["talk_seconds"] for g in groups) == sum(totals.values())
        assert sum(g["__count"] for g in groups) >= CALLS
        best, worst = statistics.median(ours), max(ours)
        bench.figure("report_1m_calls_pivot_p50", best, "s", ratio=naive_time / best)
        bench.figure(
            "report_1m_calls_pivot_max", worst, "s", target=f"< {TARGET_S} s", met=worst < TARGET_S
        )
        bench.figure("report_1m_calls_groups", len(groups), "groups")
        bench.figure("report_1m_calls_naive_python", naive_time, "s")
        bench.figure("report_1m_calls_ratio", naive_time / best, "x")
        cr.rollback()
