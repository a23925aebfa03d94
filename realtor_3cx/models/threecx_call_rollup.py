# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Telephony Dashboard's roll-up: the report's rows summed per company, realtor and
quarter hour (UTC), and those per UTC day, so that a pivot over a year of calls reads a
fraction of the rows: the days when no group is by start time, the days but the quarter hours
of the few UTC days a group begins in for months, quarters and years, the quarter hours for
the rest (:meth:`_rows_for`).

Exact, not an estimate. ``threecx.call.report._read_group`` asks :meth:`_read_group_report`
first, which answers only what the roll-up gives to the digit, and returns None for anything
else (the view answers then, as before):

* grouped by realtor, company, or start time by hour, day, week, month, quarter, year or a
  date part down to the hour, in the user's time zone. A quarter hour of UTC falls in one
  local hour in every time zone whose offsets are whole quarter hours (India's +5:30,
  Nepal's +5:45), which is checked for the user's zone over the calls' years;
* filtered, once the user's record rules are added, on realtor and company ids and on the
  start time; a start-time bound inside a quarter hour is exact only when no call started
  between the bound and the end of its quarter hour, which one index probe checks;
* the report's measures with their own aggregators. Counts and sums are sums of the
  quarter hours' sums; an average is kept as its sum and its count and divided at the end,
  in ``numeric`` as PostgreSQL's ``avg`` does, so the figure is the very same; the median
  time to call back keeps each quarter hour's call-back times (an ``int[]``) and takes
  ``percentile_cont`` over them; "called back in time" keeps the deadlines of the leads
  still open, since whether they count depends on the time of the query.

The rows are the report view's own rows summed (the view stays the one definition of each
measure), refilled at each install or update of the addon and kept in step by statement
triggers on ``threecx_call``: a statement's changed calls name the quarter hours they leave
and enter, which are summed again from the view in the same transaction. Triggers rather
than ``create``/``write`` overrides, because the ORM also stores computed and related fields
(durations, the server's company) without ``write``, and PostgreSQL itself empties a realtor,
a property or a call-back call that is deleted: the roll-up sees every change the view sees.
Two transactions that change calls of one realtor in one quarter hour (or day) at the same
time would conflict on its row (Odoo's cursors are REPEATABLE READ): the realtor saving an
outcome while the worker writes their next call. The second must neither fail nor log an
error for a figure, so its trigger catches the conflict and marks the keys stale instead
(``threecx_call_rollup_stale``, insert-only: inserts never conflict). While any key is stale
the report reads the view (still exact); the next statement on the calls, or the cron, sums the
stale keys again in a snapshot that sees what made them stale, and clears them.
"""

import bisect
import datetime

import pytz

from odoo import api, fields, models
from odoo.models import READ_GROUP_NUMBER_GRANULARITY, READ_GROUP_TIME_GRANULARITY
from odoo.osv import expression
from odoo.tools import SQL

# A call's quarter hour (UTC), in the triggers, the fill and the start-time bounds.
QUARTER = datetime.timedelta(minutes=15)
ORIGIN = datetime.datetime(2000, 1, 1)

# The report's measures the roll-up answers, as the report's read_group names them.
SUMS = ("calls_made", "calls_received", "calls_answered", "calls_missed", "property_calls",
        "talk_seconds", "ring_seconds", "leads", "leads_open", "transcribed_calls",
        "sentiment_calls")
MEDIAN = "callback_median_seconds:avg"
NOW_UTC = "(now() AT TIME ZONE 'UTC')"  # what the view compares open deadlines with
MEASURES = {
    # int4 columns: SUM() gives the int8 the view's sums give.
    "__count": "SUM({r}.call_count)",
    **{f"{name}:sum": f"SUM({{r}}.{name})" for name in SUMS},
    "answer_rate:avg": "SUM({r}.answer_sum) / NULLIF(SUM({r}.answer_count), 0)",
    "callback_seconds:avg": "SUM({r}.callback_sum)::numeric / NULLIF(SUM({r}.callback_count), 0)",
    "sentiment_score:avg": (
        "SUM({r}.sentiment_sum)::numeric / NULLIF(SUM({r}.sentiment_count), 0)"),
    # The view's average: 100.0 or 0.0 per lead called back, 0.0 per open lead past its
    # deadline, nothing for the others.
    "callback_met_rate:avg": (
        "COALESCE(SUM({r}.met_sum), 0.0) / NULLIF(SUM({r}.met_count) + SUM("
        "CASE WHEN {r}.open_deadline_max IS NULL THEN 0 WHEN {r}.open_deadline_max < {now} "
        "THEN cardinality({r}.open_deadlines) ELSE (SELECT count(*) FROM "
        "unnest({r}.open_deadlines) AS d WHERE d < {now}) END), 0)"
    ),
    MEDIAN: None,  # percentile_cont over the unnested call-back times: _read_group_median
}
# Every date granularity whose groups are unions of whole quarter hours.
GRANULARITIES = (set(READ_GROUP_TIME_GRANULARITY) | set(READ_GROUP_NUMBER_GRANULARITY)) - {
    "minute_number", "second_number"}
# Those whose groups are unions of whole UTC days but for a few: date_trunc's unit for each.
DAY_GRANULARITIES = {"month": "month", "quarter": "quarter", "year": "year",
                     "month_number": "month", "quarter_number": "quarter", "year_number": "year"}
# The call columns the summed measures and the keys read (the report's _depends, less the
# contact and the outcome, which no summed measure reads): a change elsewhere (notes, the
# worker's bookkeeping) costs the roll-up nothing.
SUMMED_CALL_COLUMNS = (
    "start_at", "user_id", "callback_user_id", "company_id", "team_id", "direction", "state",
    "answer_at",
    "talk_seconds", "ring_seconds", "property_id", "callback_deadline", "callback_call_id",
    "callback_seconds", "callback_met", "transcript_state", "sentiment_score",
)

# Quarter-hour rows, and day rows (is_day) summed from them: the days read far fewer rows where
# the grouping allows (no start time, or months, quarters, years away from their boundaries).
TABLE = """
CREATE TABLE threecx_call_rollup (
    id serial PRIMARY KEY,
    is_day boolean NOT NULL DEFAULT FALSE,
    company_id int4,
    user_id int4,
    team_id int4,
    start_at timestamp NOT NULL,
    call_count int4 NOT NULL,
    calls_made int4, calls_received int4, calls_answered int4, calls_missed int4,
    property_calls int4, talk_seconds int4, ring_seconds int4, leads int4, leads_open int4,
    answer_count int4 NOT NULL, answer_sum numeric,
    callback_count int4 NOT NULL, callback_sum int4, callback_times int4[],
    met_count int4 NOT NULL, met_sum numeric,
    open_deadlines timestamp[], open_deadline_max timestamp,
    transcribed_calls int4, sentiment_calls int4, sentiment_count int4 NOT NULL,
    sentiment_sum int4
);
CREATE UNIQUE INDEX threecx_call_rollup_key
    ON threecx_call_rollup (is_day, start_at, company_id, user_id, team_id) NULLS NOT DISTINCT;
CREATE OR REPLACE AGGREGATE threecx_call_rollup_cat(anycompatiblearray)
    (SFUNC = array_cat, STYPE = anycompatiblearray);
CREATE TABLE threecx_call_rollup_stale (
    id serial PRIMARY KEY,
    company_id int4,
    user_id int4,
    team_id int4,
    start_at timestamp NOT NULL
);
"""
COLUMNS = (
    "company_id", "user_id", "team_id", "start_at", "call_count", "calls_made", "calls_received",
    "calls_answered", "calls_missed", "property_calls", "talk_seconds", "ring_seconds", "leads",
    "leads_open", "answer_count", "answer_sum", "callback_count", "callback_sum",
    "callback_times", "met_count", "met_sum", "open_deadlines", "open_deadline_max",
    "transcribed_calls", "sentiment_calls", "sentiment_count", "sentiment_sum", "is_day",
)
# The view's rows summed per quarter hour (v: the report view, c: its call), in COLUMNS order.
QUARTER_ROWS = """
SELECT v.company_id, v.user_id, v.team_id,
       date_bin('15 minutes', v.start_at, TIMESTAMP '2000-01-01'),
       count(*), sum(v.calls_made), sum(v.calls_received), sum(v.calls_answered),
       sum(v.calls_missed), sum(v.property_calls), sum(v.talk_seconds), sum(v.ring_seconds),
       sum(v.leads), sum(v.leads_open),
       count(v.answer_rate), sum(v.answer_rate),
       count(v.callback_seconds), sum(v.callback_seconds),
       array_agg(v.callback_median_seconds)
           FILTER (WHERE v.callback_median_seconds IS NOT NULL),
       count(v.callback_met_rate) FILTER (WHERE c.callback_call_id IS NOT NULL),
       sum(v.callback_met_rate) FILTER (WHERE c.callback_call_id IS NOT NULL),
       array_agg(c.callback_deadline)
           FILTER (WHERE c.callback_call_id IS NULL AND c.callback_deadline IS NOT NULL),
       max(c.callback_deadline)
           FILTER (WHERE c.callback_call_id IS NULL AND c.callback_deadline IS NOT NULL),
       sum(v.transcribed_calls), sum(v.sentiment_calls),
       count(v.sentiment_score), sum(v.sentiment_score),
       FALSE
  FROM threecx_call_report v
  JOIN threecx_call c ON c.id = v.phone_call_id
"""
# The quarter hours (q) summed per UTC day.
DAY_ROWS = """
SELECT q.company_id, q.user_id, q.team_id, date_trunc('day', q.start_at),
       sum(q.call_count), sum(q.calls_made), sum(q.calls_received), sum(q.calls_answered),
       sum(q.calls_missed), sum(q.property_calls), sum(q.talk_seconds), sum(q.ring_seconds),
       sum(q.leads), sum(q.leads_open), sum(q.answer_count), sum(q.answer_sum),
       sum(q.callback_count), sum(q.callback_sum), threecx_call_rollup_cat(q.callback_times),
       sum(q.met_count), sum(q.met_sum), threecx_call_rollup_cat(q.open_deadlines),
       max(q.open_deadline_max), sum(q.transcribed_calls), sum(q.sentiment_calls),
       sum(q.sentiment_count), sum(q.sentiment_sum), TRUE
  FROM threecx_call_rollup q
"""
INSERT = f"INSERT INTO threecx_call_rollup ({', '.join(COLUMNS)})"
FILL = (f"{INSERT} {QUARTER_ROWS} GROUP BY 1, 2, 3, 4;"
        f" {INSERT} {DAY_ROWS} WHERE NOT q.is_day GROUP BY 1, 2, 3, 4")
UPSERT = (
    "ON CONFLICT (is_day, start_at, company_id, user_id, team_id)"
    f" DO UPDATE SET ({', '.join(COLUMNS)}) = ({', '.join(f'EXCLUDED.{c}' for c in COLUMNS)})"
)
# Sum the given quarter hours again, then their days; those left without calls disappear.
# A few keys (a statement of the ORM, of the worker): index ranges per key; many (a bulk
# import): one pass, hashed on the keys.
REFRESH = f"""
CREATE OR REPLACE FUNCTION threecx_call_rollup_refresh(
    companies int4[], users int4[], teams int4[], starts timestamp[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    few boolean := cardinality(starts) <= 1000;
    days timestamp[] := ARRAY(SELECT date_trunc('day', s) FROM unnest(starts) AS s);
BEGIN
    DELETE FROM threecx_call_rollup r
     USING unnest(companies, users, teams, starts) AS k(company_id, user_id, team_id, start_at)
     WHERE NOT r.is_day AND r.start_at = k.start_at
       AND r.company_id IS NOT DISTINCT FROM k.company_id
       AND r.user_id IS NOT DISTINCT FROM k.user_id
       AND r.team_id IS NOT DISTINCT FROM k.team_id;
    DELETE FROM threecx_call_rollup r
     USING unnest(companies, users, teams, days) AS k(company_id, user_id, team_id, day)
     WHERE r.is_day AND r.start_at = k.day
       AND r.company_id IS NOT DISTINCT FROM k.company_id
       AND r.user_id IS NOT DISTINCT FROM k.user_id
       AND r.team_id IS NOT DISTINCT FROM k.team_id;
    -- After those DELETEs only a concurrent transaction can hold one of these keys: ON CONFLICT
    -- makes the clash a serialization failure, which Odoo retries, not a unique violation.
    IF few THEN
        {INSERT} {QUARTER_ROWS}
          JOIN unnest(companies, users, teams, starts) AS k(company_id, user_id, team_id, start_at)
            ON v.start_at >= k.start_at AND v.start_at < k.start_at + interval '15 minutes'
           AND v.company_id IS NOT DISTINCT FROM k.company_id
           AND v.user_id IS NOT DISTINCT FROM k.user_id
           AND v.team_id IS NOT DISTINCT FROM k.team_id
         GROUP BY 1, 2, 3, 4
        {UPSERT};
        {INSERT} {DAY_ROWS}
          JOIN (SELECT DISTINCT * FROM unnest(companies, users, teams, days))
            AS k(company_id, user_id, team_id, day)
            ON NOT q.is_day AND q.start_at >= k.day AND q.start_at < k.day + interval '1 day'
           AND q.company_id IS NOT DISTINCT FROM k.company_id
           AND q.user_id IS NOT DISTINCT FROM k.user_id
           AND q.team_id IS NOT DISTINCT FROM k.team_id
         GROUP BY 1, 2, 3, 4
        {UPSERT};
    ELSE
        {INSERT} {QUARTER_ROWS}
          JOIN unnest(companies, users, teams, starts) AS k(company_id, user_id, team_id, start_at)
            ON date_bin('15 minutes', v.start_at, TIMESTAMP '2000-01-01') = k.start_at
           AND COALESCE(v.company_id, 0) = COALESCE(k.company_id, 0)
           AND COALESCE(v.user_id, 0) = COALESCE(k.user_id, 0)
           AND COALESCE(v.team_id, 0) = COALESCE(k.team_id, 0)
         GROUP BY 1, 2, 3, 4
        {UPSERT};
        {INSERT} {DAY_ROWS}
          JOIN (SELECT DISTINCT * FROM unnest(companies, users, teams, days))
            AS k(company_id, user_id, team_id, day)
            ON NOT q.is_day AND date_trunc('day', q.start_at) = k.day
           AND COALESCE(q.company_id, 0) = COALESCE(k.company_id, 0)
           AND COALESCE(q.user_id, 0) = COALESCE(k.user_id, 0)
           AND COALESCE(q.team_id, 0) = COALESCE(k.team_id, 0)
         GROUP BY 1, 2, 3, 4
        {UPSERT};
    END IF;
END $$;
"""
# A trigger function per event: the quarter hours of the inserted calls, of the deleted ones,
# or of the changed ones before and after (a call's realtor is the view's COALESCE).
SYNC = """
CREATE OR REPLACE FUNCTION threecx_call_rollup_{event}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    companies int4[];
    users int4[];
    teams int4[];
    starts timestamp[];
BEGIN
    SELECT array_agg(k.company_id), array_agg(k.user_id), array_agg(k.team_id),
           array_agg(k.start_at)
      INTO companies, users, teams, starts
      FROM (SELECT DISTINCT company_id, COALESCE(user_id, callback_user_id) AS user_id, team_id,
                   date_bin('15 minutes', start_at, TIMESTAMP '2000-01-01') AS start_at
              FROM {calls}) k;
    IF starts IS NOT NULL THEN
        BEGIN
            PERFORM threecx_call_rollup_refresh(companies, users, teams, starts);
        EXCEPTION WHEN serialization_failure OR deadlock_detected OR unique_violation THEN
            -- A concurrent transaction is summing the same keys: this one's changes are
            -- summed later, by a snapshot that sees them (module docstring).
            INSERT INTO threecx_call_rollup_stale (company_id, user_id, team_id, start_at)
            SELECT * FROM unnest(companies, users, teams, starts);
        END;
    END IF;
    IF EXISTS (SELECT FROM threecx_call_rollup_stale) THEN
        PERFORM threecx_call_rollup_refresh_stale();
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER threecx_call_rollup_{event} AFTER {event} ON threecx_call
    REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION threecx_call_rollup_{event}();
"""
CHANGED = ("FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE ({}) IS DISTINCT FROM ({})"
           .format(*(", ".join(f"{t}.{c}" for c in SUMMED_CALL_COLUMNS) for t in "on")))
EVENTS = {
    "insert": ("new_rows", "NEW TABLE AS new_rows"),
    "delete": ("old_rows", "OLD TABLE AS old_rows"),
    "update": (f"(SELECT o.* {CHANGED} UNION ALL SELECT n.* {CHANGED}) AS changed",
               "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
}
SYNCS = [SYNC.format(event=event, calls=calls, tables=tables)
         for event, (calls, tables) in EVENTS.items()]
# Sum the stale keys again and clear them; False when a concurrent transaction is at it (the
# keys stay stale, and the report reads the view meanwhile).
REFRESH_STALE = """
CREATE OR REPLACE FUNCTION threecx_call_rollup_refresh_stale() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    ids int4[];
    companies int4[];
    users int4[];
    teams int4[];
    starts timestamp[];
BEGIN
    SELECT array_agg(id), array_agg(company_id), array_agg(user_id), array_agg(team_id),
           array_agg(start_at)
      INTO ids, companies, users, teams, starts
      FROM threecx_call_rollup_stale;
    IF ids IS NULL THEN
        RETURN TRUE;
    END IF;
    BEGIN
        PERFORM threecx_call_rollup_refresh(companies, users, teams, starts);
        DELETE FROM threecx_call_rollup_stale WHERE id = ANY(ids);
        RETURN TRUE;
    EXCEPTION WHEN serialization_failure OR deadlock_detected OR unique_violation THEN
        RETURN FALSE;
    END;
END $$;
"""
TRUNCATE = """
CREATE OR REPLACE FUNCTION threecx_call_rollup_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE threecx_call_rollup, threecx_call_rollup_stale;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER threecx_call_rollup_truncate AFTER TRUNCATE ON threecx_call
    FOR EACH STATEMENT EXECUTE FUNCTION threecx_call_rollup_truncate();
"""
# What the uninstall hook drops (the table goes with the model; the triggers with these).
FUNCTIONS = (
    *(f"threecx_call_rollup_{event}()" for event in EVENTS), "threecx_call_rollup_truncate()",
    "threecx_call_rollup_refresh(int4[], int4[], int4[], timestamp[])",
    "threecx_call_rollup_refresh_stale()",
)
AGGREGATES = ("threecx_call_rollup_cat(anycompatiblearray)",)


def drop_rollup_functions(cr):
    """The triggers, functions and the stale keys' table, which Odoo would leave behind at
    uninstall."""
    for function in FUNCTIONS:
        cr.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")  # pylint: disable=sql-injection
    for aggregate in AGGREGATES:
        cr.execute(f"DROP AGGREGATE IF EXISTS {aggregate} CASCADE")  # pylint: disable=sql-injection
    # Not a model's table: Odoo drops threecx_call_rollup with its model, not this one.
    cr.execute("DROP TABLE IF EXISTS threecx_call_rollup_stale")


def quarter_of(moment):
    """The start of the quarter hour ``moment`` falls in, as ``date_bin`` gives it."""
    return ORIGIN + (moment - ORIGIN) // QUARTER * QUARTER


class ThreecxCallRollup(models.Model):
    _name = "threecx.call.rollup"
    _description = "Telephony report per quarter hour"
    _auto = False
    _order = "start_at desc"

    company_id = fields.Many2one("res.company", readonly=True)
    user_id = fields.Many2one("res.users", "Realtor", readonly=True)
    team_id = fields.Many2one("threecx.team", readonly=True)
    start_at = fields.Datetime("Quarter hour", readonly=True)

    def init(self):
        # Dropped and refilled from the report view at each install or update, so that it is
        # never older than the code that sums it (no migration to write). The view exists:
        # models/__init__.py loads the report before this model.
        cr = self.env.cr
        cr.execute("DROP TABLE IF EXISTS threecx_call_rollup, threecx_call_rollup_stale CASCADE")
        cr.execute(TABLE)
        cr.execute(REFRESH)
        cr.execute(REFRESH_STALE)
        for sync in SYNCS:
            cr.execute(sync)
        cr.execute(TRUNCATE)
        cr.execute(FILL)
        cr.execute("ANALYZE threecx_call_rollup")

    # -- the report's read_group, from the roll-up ----------------------------------------

    @api.model
    def _read_group_report(self, report, domain, groupby, aggregates, having, offset, limit,
                           order):
        """``report._read_group(...)`` from the roll-up, or None when the roll-up cannot give
        exactly what the view would."""
        if report.env.context.get("realtor_3cx_report_from_view"):
            return None
        if not self._can_group(groupby, aggregates, having, order):
            return None
        report.browse().check_access("read")
        # The triggers sum what is in the table: the calls' pending changes go there first.
        self.env["threecx.call"].flush_model()
        rollup_domain = self._rollup_domain(report, domain)
        if rollup_domain is None or self._stale():
            return None
        if any(spec.startswith("start_at:") for spec in groupby) and not self._tz_exact():
            return None
        rollup = self.sudo().with_context(
            realtor_3cx_rollup_rows=self._rows_for(groupby, rollup_domain))
        summed = [spec for spec in aggregates if spec != MEDIAN]
        rows = rollup._read_group(rollup_domain, groupby, summed, having, offset, limit, order)
        medians = rollup._read_group_median(rollup_domain, groupby) if (
            MEDIAN in aggregates and rows) else {}
        result = []
        for row in rows:
            keys = [value.with_env(report.env) if isinstance(value, models.BaseModel) else value
                    for value in row[:len(groupby)]]
            values = iter(row[len(groupby):])
            measures = [
                medians.get(tuple(map(group_key, keys)), False) if spec == MEDIAN
                else next(values)
                for spec in aggregates
            ]
            result.append((*keys, *measures))
        return result

    @api.model
    def _stale(self):
        """True while keys a concurrent write left stale are not summed again yet."""
        self.env.cr.execute("SELECT EXISTS (SELECT FROM threecx_call_rollup_stale)")
        return self.env.cr.fetchone()[0]

    @api.model
    def _cron_refresh_stale(self):
        """Sum again the keys concurrent writes left stale, when no later write did."""
        self.env.cr.execute("SELECT threecx_call_rollup_refresh_stale()")

    @api.model
    def _can_group(self, groupby, aggregates, having, order):
        for spec in groupby:
            fname, __, granularity = spec.partition(":")
            if not (fname in ("user_id", "company_id", "team_id") and not granularity
                    or fname == "start_at" and granularity in GRANULARITIES):
                return False
        if not set(aggregates) <= set(MEASURES):
            return False
        # The median comes from a second query: nothing may sort or filter on it.
        having_terms = [leaf[0] for leaf in having or () if isinstance(leaf, list | tuple)]
        return MEDIAN not in having_terms and MEDIAN not in (order or "")

    @api.model
    def _rollup_domain(self, report, domain):
        """The user's domain and record rules on the report, if the roll-up has them exactly."""
        rules = [] if report.env.su else report.env["ir.rule"]._compute_domain(report._name)
        full = expression.AND([list(domain or []), rules])
        for element in full:
            if isinstance(element, str):  # '&', '|', '!'
                continue
            if not self._leaf_exact(*element):
                return None
        return full

    @api.model
    def _leaf_exact(self, left, operator, right):
        if (left, operator, right) in (expression.TRUE_LEAF, expression.FALSE_LEAF):
            return True
        # The realtor's team rule (threecx_team_security.xml) walks team_id to its members:
        # the roll-up's team_id is the same many2one, so the ORM gives the same sub-query.
        if left.startswith("team_id."):
            return True
        if left in ("user_id", "company_id", "team_id"):
            if operator in ("=", "!="):
                right = [right]
            elif operator not in ("in", "not in") or not isinstance(right, list | tuple):
                return False
            return all(v is False or type(v) is int for v in right)
        if left == "start_at" and operator in ("<", "<=", ">", ">="):
            return self._bound_exact(operator, right)
        return False

    @api.model
    def _bound_exact(self, operator, value):
        """Whether comparing the quarter hours' start with ``value`` selects the same calls as
        comparing their own start: no call started from ``value`` (excluded for <= and >) to
        the end of its quarter hour."""
        if isinstance(value, str) and len(value) > 10:  # a date alone: the ORM's own rules
            try:
                value = fields.Datetime.to_datetime(value)
            except ValueError:
                return False
        if not isinstance(value, datetime.datetime) or value.tzinfo:
            return False
        start = quarter_of(value)
        if operator in ("<", ">=") and value == start:
            return True
        self.env.cr.execute(SQL(
            "SELECT EXISTS(SELECT 1 FROM threecx_call WHERE start_at %s %s AND start_at < %s)",
            SQL(">=" if operator in ("<", ">=") else ">"), value, start + QUARTER,
        ))
        return not self.env.cr.fetchone()[0]

    @api.model
    def _tz_exact(self):
        """Whether every quarter hour of UTC since the first call lies in one hour of the
        user's time zone (its offsets and their changes on quarter hours)."""
        tz_name = self.env.context.get("tz")
        if tz_name not in pytz.all_timezones_set:
            return True  # the ORM groups in UTC then
        self.env.cr.execute("SELECT min(start_at) FROM threecx_call")
        first = self.env.cr.fetchone()[0]
        tz = pytz.timezone(tz_name)
        changes = getattr(tz, "_utc_transition_times", None)
        if first is None or not changes:  # no call, or a fixed offset
            return first is None or tz.utcoffset(first).total_seconds() % 900 == 0
        since = max(bisect.bisect_right(changes, first) - 1, 0)
        for i in range(since, len(changes)):
            if tz._transition_info[i][0].total_seconds() % 900:
                return False
            if i > since and (changes[i] - ORIGIN).total_seconds() % 900:
                return False
        return True

    @api.model
    def _rows_for(self, groupby, domain):
        """Which rows give the groups: ``("quarter",)``, ``("day",)``, or ``("days", *boundary
        days)``: the days, but the quarter hours of the UTC days a group starts in."""
        bounded = any(not isinstance(element, str) and element[0] == "start_at"
                      for element in domain)
        grains = [spec.partition(":")[2] for spec in groupby if spec.startswith("start_at:")]
        if bounded or not set(grains) <= set(DAY_GRANULARITIES):
            return ("quarter",)
        if not grains:
            return ("day",)
        # The ORM groups in the user's time zone (UTC if it does not know it). A day is split
        # when its first and last instants fall in two groups or two UTC offsets.
        tz = self.env.context.get("tz")
        tz = tz if tz in pytz.all_timezones_set else "UTC"
        first, last = SQL("d"), SQL("(d + interval '1 day' - interval '1 microsecond')")

        def local(moment):
            return SQL("timezone(%s, timezone('UTC', %s))", tz, moment)

        split = [SQL("%s - %s <> %s - %s", local(first), first, local(last), last)]
        split += [SQL("date_trunc(%s, %s) <> date_trunc(%s, %s)", unit, local(first), unit,
                      local(last))
                  for unit in sorted({DAY_GRANULARITIES[grain] for grain in grains})]
        days = self.env.execute_query(SQL(
            "SELECT d FROM generate_series((SELECT date_trunc('day', min(start_at)) FROM "
            "threecx_call), (SELECT max(start_at) FROM threecx_call), interval '1 day') AS d "
            "WHERE %s", SQL(" OR ").join(split)))
        return ("days", *(day for (day,) in days))

    def _search(self, domain, offset=0, limit=None, order=None):
        query = super()._search(domain, offset, limit, order)
        rows = self.env.context.get("realtor_3cx_rollup_rows")
        if rows:
            query.add_where(self._rows_sql(rows))
        return query

    def _rows_sql(self, rows):
        is_day = SQL.identifier(self._table, "is_day")
        if rows[0] == "quarter":
            return SQL("NOT %s", is_day)
        if len(rows) == 1:
            return is_day
        start_at = SQL.identifier(self._table, "start_at")
        return SQL(
            "((%s AND NOT %s = ANY(%s)) OR (NOT %s AND (%s)))",
            is_day, start_at, list(rows[1:]), is_day,
            SQL(" OR ").join(
                SQL("%s >= %s AND %s < %s", start_at, day, start_at,
                    day + datetime.timedelta(days=1)) for day in rows[1:]))

    @api.model
    def _read_group_median(self, domain, groupby):
        """{group key: median time to call back} over the call-back times of the rows."""
        query = self._search(domain)
        times = SQL.identifier(self._table, "callback_times")
        query.add_where(SQL("%s IS NOT NULL", times))
        terms = [self._read_group_groupby(spec, query) for spec in groupby]
        keys = [SQL.identifier(f"group_{i}") for i in range(len(terms))]
        callbacks = query.select(
            *(SQL("%s AS %s", term, key) for term, key in zip(terms, keys, strict=True)),
            SQL("unnest(%s) AS callback", times))
        median = SQL("percentile_cont(0.5) WITHIN GROUP (ORDER BY callback)")
        rows = self.env.execute_query(SQL(
            "SELECT %s FROM (%s) AS callbacks%s", SQL(", ").join([*keys, median]), callbacks,
            SQL(" GROUP BY %s", SQL(", ").join(keys)) if keys else SQL()))
        return {
            tuple(map(group_key, row[:-1])): row[-1] if row[-1] is not None else False
            for row in rows
        }

    # -- the measures, as the report's read_group names them ------------------------------

    def _read_group_select(self, aggregate_spec, query):
        sql = MEASURES.get(aggregate_spec)
        if sql is None:
            return super()._read_group_select(aggregate_spec, query)
        # Constant text around the table's own name.
        return SQL(sql.format(r=f'"{self._table}"', now=NOW_UTC))  # pylint: disable=sql-injection

    @api.model
    def _read_group_empty_value(self, spec):
        if spec in MEASURES:
            return 0 if spec == "__count" else False
        return super()._read_group_empty_value(spec)


def group_key(value):
    """A group's value as both queries see it: an id, a date, a number or None."""
    if isinstance(value, models.BaseModel):
        return value.id or None
    return None if value is False else value
