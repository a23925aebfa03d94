# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Requests an HTTP worker hands to the 3CX worker (click-to-call, softphone).

Only the worker talks to 3CX (it holds the integration's one token), so a browser's request is
a row the worker picks up at once: committed in its own transaction, with a NOTIFY on the
channel the worker LISTENs to on this database. Click-to-call and the other dial requests
return there and get the worker's answer on the bus (threecx_dial.py); :func:`await_worker`
polls for an answer inside the HTTP request, which holds an HTTP worker meanwhile.
"""

import time

import psycopg2
from psycopg2 import sql

from odoo.tools import mute_logger

POLL = 0.05

# Both functions commit a cursor they opened themselves (env.registry.cursor()), so that the
# worker sees the row at once; the HTTP request's own transaction is never committed here.
# pylint: disable=invalid-commit


def enqueue(env, model, values, channel, unique=()):
    """Create a ``model`` row in a transaction of its own and wake the worker. Returns its id.

    ``unique`` names fields whose values (in ``values``) identify the request: a row that
    already has them is returned, and no second one is made. Odoo replays an HTTP request
    after a serialization failure, and the row this function committed outlives the rollback
    of the request's own transaction.
    """
    with env.registry.cursor() as cr:
        Model = env(cr=cr, su=True)[model]
        if unique:
            existing = Model.search([(name, "=", values[name]) for name in unique], limit=1)
            if existing:
                return existing.id
        record = Model.create(values)
        # Delivered at commit to the worker LISTENing on this database.
        cr.execute("SELECT pg_notify(%s, %s)", (channel, str(record.id)))
        cr.commit()
        return record.id


def await_worker(env, table, row_id, pending, columns, timeout, timeout_message):
    """Poll ``table`` until the row leaves the ``pending`` state; returns ``columns`` as a dict.

    On timeout the row is failed with ``timeout_message``, unless the worker answered in the
    same instant (then its answer wins: it may already have placed the call).
    """
    select = sql.SQL("SELECT state, {} FROM {} WHERE id = %s").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table))
    deadline = time.monotonic() + timeout
    while True:
        with env.registry.cursor() as cr:
            timed_out = False
            if time.monotonic() >= deadline:
                try:
                    with mute_logger("odoo.sql_db"):
                        cr.execute(
                            sql.SQL("UPDATE {} SET state = 'failed', message = %s "
                                    "WHERE id = %s AND state = %s RETURNING id").format(
                                sql.Identifier(table)),
                            (timeout_message, row_id, pending),
                        )
                    timed_out = bool(cr.fetchone())
                    cr.commit()
                except psycopg2.errors.SerializationFailure:
                    # The worker answered in this very instant: its answer wins (read below).
                    cr.rollback()
            cr.execute(select, (row_id,))
            state, *values = cr.fetchone()
        if timed_out or state != pending:
            return {"state": state, **dict(zip(columns, values, strict=True))}
        time.sleep(POLL)
