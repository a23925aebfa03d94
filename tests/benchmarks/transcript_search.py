# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A word searched in the transcripts of 1,000,000 calls, from the Calls list: ours (the
transcript's words in a full-text index) and Odoo's own way (an ``ilike`` on a field with
``index="trigram"``), on the same data, in one run.

The data, made with SQL in the benchmark database (indexes dropped for the load and built
again from their own definitions, the roll-up's triggers off; ``setseed`` makes it the same
every run): a million calls of the last year, each with a transcript of 20 to 30 speaker turns
(``Agent:`` / ``Caller:``, about 250 words), drawn from a pool of sentences a realtor and a
caller say (the spoken clips' sentences, and more made from templates with the names, streets,
prices and days of a realistic vocabulary). The words searched are of three kinds:

- ``rare``: a surname, said in about one call in 400 (a caller's name);
- ``uncommon``: a word such as "basement", in a few percent of the calls;
- ``common``: "price", in most calls.

Ours is what the web client's list does when a manager types the word in the Calls search
and picks "Search Transcript for: ...": ``threecx.call.web_search_read([("transcript_search",
"ilike", word)])`` with the list's limit (80), its order (``_order``) and its count limit
(10,001: "1-80 / 10000+"), as the telephony manager (record rules applied), with an empty
record cache. It runs on the GIN index of the ``transcript_words`` column.

The anchor is the strongest way Odoo itself offers: ``index="trigram"`` on the transcript
(a pg_trgm GIN index, built once in the benchmark database under a name of its own) and the
same list search with ``("transcript", "ilike", word)``. It finds a few more calls (a
substring: "price" in "overpriced"); both counts are printed.
"""

import os
import statistics

from .common import REPEATS, median_of_runs, timed
from .rules import _bulk, required_defaults

NAME = "transcript_search"
CALLS = 1_000_000
SEARCHES = 5  # per word and run, ours (a median of each word's five)
TARGET_MS = 100.0
INDEX = "threecx_call_transcript_words_index"
TRIGRAM = "threecx_call_bench_transcript_trigram"  # the anchor's index (see the docstring)
REF = "transcript-"
LIST_LIMIT, COUNT_LIMIT = 80, 10_001  # the web client's list (relational_model.js)
SPEC = {"start_at": {}, "direction": {}, "state": {}, "external_number": {},
        "talk_seconds": {}, "user_id": {"fields": {"display_name": {}}},
        "partner_id": {"fields": {"display_name": {}}}}

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
         "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa "
         "Anthony Betty Mark Sandra Steven Ashley Paul Emily Andrew Donna Joshua Michelle "
         "Kevin Carol Brian Amanda George Melissa Timothy Deborah Ronald Stephanie Jason "
         "Rebecca Edward Laura Ryan Helen Jacob Sharon Gary Cynthia Nicholas Kathleen").split()
SUFFIXES = ("son", "man", "ley", "ford", "well", "wood", "ton", "field", "worth", "by",
            "stone", "brook", "ridge", "more", "land", "bury", "wick", "dale", "hurst", "er")
STREETS = ("Oak Maple Pine Cedar Elm Birch Willow Magnolia Cypress Palm Hickory Chestnut "
           "Sycamore Juniper Laurel Aspen Poplar Spruce Dogwood Holly").split()
STREET_KINDS = ("Avenue", "Street", "Drive", "Lane", "Court", "Road", "Boulevard", "Way")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PRICES = ("two hundred", "three hundred", "four hundred fifty", "five hundred twenty",
          "six hundred", "seven hundred fifty", "eight hundred ninety", "one million")
# Sentences with a surname in them: one per surname, so each is in about one call in 400.
NAMED = ("Hi, this is {first} {last}, I saw your sign on {street} {kind}.",
         "My name is {first} {last} and I am returning your call about the listing.",
         "Could you ask {first} {last} to call me back this afternoon?",
         "The sellers, the {last} family, are moving out at the end of the month.")
# Templates without a surname, each 120 times in the pool: "price" is in four of them.
PLAIN = (
    "The asking price on {street} {kind} is {price} thousand dollars.",
    "Is the price negotiable, or are the sellers firm on {price} thousand?",
    "We could offer {price} thousand if the price includes the appliances.",
    "The price dropped last week, so now is a good time to see it.",
    "I can show you the house on {street} {kind} on {day} at ten.",
    "The open house on {street} {kind} is this {day} from one to four.",
    "Would {day} morning work for a showing?",
    "The house has three bedrooms and two bathrooms and a big kitchen.",
    "Our lender wants the appraisal before {day}.",
    "We are pre approved with our bank for {price} thousand.",
    "The property taxes are about six thousand a year.",
    "The school district near {street} {kind} is one of the best in the county.",
    "Can you send me the listing details by email?",
    "The roof was replaced two years ago and the windows are new.",
    "The backyard has a fence and a large garden.",
    "Do you know if the garage fits two cars?",
    "The condo on {street} {kind} comes with a parking space.",
    "The rent is two thousand dollars a month, utilities included.",
    "Let me check with my wife and call you back.",
    "Thank you for calling, have a great day.",
    "Please call me back when you have a moment.",
    "We need to close before the end of the month.",
    "How long has the house on {street} {kind} been on the market?",
    "Okay, that sounds good, see you on {day}.",
)
# Said in a few calls in a hundred: few copies of them in the pool.
FEW = ("There is a finished basement with a laundry room.",
       "The inspection is booked for {day}, the inspector needs about three hours.")


def sentence_pool():
    """Every sentence a transcript is drawn from: about 4,400, 1,200 of them naming a surname
    (each surname once) and about 1,100 with "price" in them."""
    import random

    rng = random.Random(18)
    lasts = [first + suffix for first in FIRST for suffix in SUFFIXES]

    def fill(template, **fixed):
        values = {"first": rng.choice(FIRST), "street": rng.choice(STREETS),
                  "kind": rng.choice(STREET_KINDS), "day": rng.choice(DAYS),
                  "price": rng.choice(PRICES), **fixed}
        return template.format(**values)

    pool = [fill(rng.choice(NAMED), last=last) for last in lasts]
    for template in PLAIN:
        pool += [fill(template) for _ in range(120)]
    for template in FEW:
        pool += [fill(template) for _ in range(4)]
    return pool, lasts


def populate(cr, env):
    """The million transcribed calls, unless this database has them: seconds spent."""
    cr.execute("SELECT count(*) FROM threecx_call WHERE call_id LIKE %s", (REF + "%",))
    if cr.fetchone()[0] >= CALLS:
        return None
    pool, _lasts = sentence_pool()
    server = env["threecx.server"].create(
        {"name": "Transcript bench PBX", "base_url": "https://transcript-bench.example.com"})
    env.flush_all()
    cr.execute("SELECT setseed(0.18)")
    # 20 to 30 turns, each a sentence of the pool (the subquery reads i: one draw per call).
    columns, values, defaults = required_defaults(cr, env, "threecx_call", "threecx.call", (
        "id", "server_id", "call_id", "direction", "state", "start_at", "company_id",
        "external_number", "external_e164", "recording_state", "transcript",
        "transcript_state", "transcript_source"))
    spent = _bulk(cr, "threecx_call", f"""
        INSERT INTO threecx_call (id, server_id, call_id, direction, state, start_at, answer_at,
                                  end_at, ring_seconds, talk_seconds, company_id,
                                  external_number, external_e164, recording_state, transcript,
                                  transcript_state, transcript_source, create_uid, write_uid,
                                  create_date, write_date{columns})
        SELECT nextval('threecx_call_id_seq'), %(server)s, %(ref)s || i,
               (ARRAY['inbound', 'outbound'])[1 + i %% 2], 'completed', t, t,
               t + interval '5 minutes',
               0, 300, %(company)s, '+1' || (2122000000 + i), '+1' || (2122000000 + i),
               'fetched',
               (SELECT string_agg(CASE WHEN k %% 2 = 1 THEN 'Agent: ' ELSE 'Caller: ' END
                                  || (%(pool)s::text[])[1 + floor(random() * %(n)s)::int], E'\n')
                  FROM generate_series(1, 20 + i %% 11) k),
               'done', 'threecx', 1, 1, now(), now(){values}
          FROM generate_series(1, %(calls)s) i,
               LATERAL (SELECT now() - i * interval '31.5 seconds' AS t) s
        """, {"server": server.id, "ref": REF, "company": env.company.id, "pool": pool,
              "n": len(pool), "calls": CALLS, **defaults})
    cr.commit()
    return spent


def words():
    """(kind, word) searched: two of each kind."""
    _pool, lasts = sentence_pool()
    return [("rare", lasts[0]), ("rare", lasts[40]), ("uncommon", "basement"),
            ("uncommon", "inspection"), ("common", "price"), ("common", "Thursday")]


def run(bench):
    from odoo.tools import SQL

    with bench.cursor() as cr:
        env = bench.env(cr)
        cr.execute("SHOW shared_buffers")
        print(f"  load average {os.getloadavg()[0]:.1f}; PostgreSQL's shared_buffers "
              f"{cr.fetchone()[0]}", flush=True)
        spent = populate(cr, env)
        if spent:
            print(f"  {CALLS} transcripts loaded in {spent[0]:.0f} s, indexes built in "
                  f"{spent[1]:.0f} s", flush=True)
        cr.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", (TRIGRAM,))
        if not cr.fetchone():
            cr.execute("SET LOCAL maintenance_work_mem = '256MB'")
            built = timed(cr.execute, f'CREATE INDEX "{TRIGRAM}" ON threecx_call'
                                      " USING gin (transcript gin_trgm_ops)")
            cr.commit()
            print(f"  the anchor's trigram index built in {built:.0f} s", flush=True)
        cr.execute("SELECT count(*),"
                   " avg(array_length(regexp_split_to_array(transcript, '\\s+'), 1)),"
                   " pg_size_pretty(pg_total_relation_size('threecx_call')),"
                   " pg_size_pretty(pg_relation_size(%s)), pg_size_pretty(pg_relation_size(%s))"
                   " FROM threecx_call WHERE transcript IS NOT NULL", (INDEX, TRIGRAM))
        count, avg_words, table_size, index_size, trigram_size = cr.fetchone()
        print(f"  {count} transcripts, {avg_words:.0f} words on average; table {table_size}, "
              f"words index {index_size}, trigram index {trigram_size}", flush=True)
        assert count >= CALLS
        manager = env.ref("realtor_3cx.user_manager")
        Call = env(user=manager, context=manager.context_get())["threecx.call"]
        searched = words()
        # How many calls each way finds: one scan for all the words.
        cr.execute(SQL("SELECT %s FROM threecx_call", SQL(", ").join(
            SQL("count(*) FILTER (WHERE transcript_words @@ to_tsquery('simple', %s)),"
                " count(*) FILTER (WHERE transcript ILIKE %s)",
                f"'{word.lower()}':*", f"%{word}%")
            for _kind, word in searched)))
        row = cr.fetchone()
        matches = {word: row[2 * n] for n, (_kind, word) in enumerate(searched)}
        substring = {word: row[2 * n + 1] for n, (_kind, word) in enumerate(searched)}
        for _kind, word in searched:
            print(f"  {word!r}: in {matches[word]} transcripts as a word, "
                  f"{substring[word]} as a substring", flush=True)
        for kind, word in (searched[0], searched[4]):
            query = Call._search([("transcript_search", "ilike", word)], limit=LIST_LIMIT)
            cr.execute(SQL("EXPLAIN %s", query.select()))
            print(f"  plan ({kind}): " + "; ".join(
                line.strip(" ->").split("  (")[0] for (line,) in cr.fetchall()
                if "Scan" in line or "Join" in line or "Loop" in line), flush=True)

        def search(word, field="transcript_search", expected=matches):
            env.invalidate_all()
            result = Call.web_search_read([(field, "ilike", word)], SPEC,
                                          limit=LIST_LIMIT, count_limit=COUNT_LIMIT)
            assert result["length"] == min(expected[word], COUNT_LIMIT), (word, result["length"])
            assert len(result["records"]) == min(expected[word], LIST_LIMIT)
            return result

        runs = []
        for _ in range(REPEATS):
            times = {}
            for _kind, word in searched:
                times[word] = statistics.median(timed(search, word) for _ in range(SEARCHES))
                # The anchor once a run: a common word takes it seconds.
                times[f"{word} trigram"] = timed(search, word, "transcript", substring)
            times["load"] = os.getloadavg()[0]
            runs.append(times)
            shown = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in times.items() if k != "load")
            print(f"  run: {shown}; load average {times['load']:.1f}", flush=True)
        cr.rollback()

    for kind, word in searched:
        value, values = median_of_runs(runs, lambda run, w=word: run[w] * 1000)
        ratio = median_of_runs(runs, lambda run, w=word: run[f"{w} trigram"] / run[w])[0]
        bench.figure(f"transcript_search_1m_calls {kind} word {word!r} ({matches[word]} calls), "
                     "Calls list, words index", round(value, 1), "ms",
                     runs=[round(v, 1) for v in values], ratio=ratio,
                     target=f"< {TARGET_MS:g} ms", met=value < TARGET_MS)
    for kind, word in searched:
        value, values = median_of_runs(runs, lambda run, w=word: run[f"{w} trigram"] * 1000)
        bench.figure(f"transcript_search_1m_calls {kind} word {word!r} ({substring[word]} "
                     "calls), anchor: ilike on index=trigram", round(value, 1), "ms",
                     runs=[round(v, 1) for v in values])
    bench.figure("transcript_search_1m_calls load average during the runs",
                 " / ".join(f"{run['load']:.1f}" for run in runs), "")
