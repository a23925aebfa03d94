# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Requests an HTTP worker hands to the 3CX worker (click-to-call, softphone).

Only the worker talks to 3CX (it holds the integration's one token), so a browser's request is
a row the worker picks up at once: committed in its own transaction, with a NOTIFY on the
channel the worker LISTENs to on this database. The HTTP request returns there: nothing holds
an HTTP worker while the PBX or the worker answers. The worker's answer reaches the page on
the bus (threecx_dial.py for click-to-call, threecx_softphone.py for a browser call's offer).
"""

import psycopg2

# enqueue() commits a cursor it opened itself (env.registry.cursor()), so that the
# worker sees the row at once; the HTTP request's own transaction is never committed here.
# pylint: disable=invalid-commit


def enqueue(env, model, values, channel, unique=()):
    """Create a ``model`` row in a transaction of its own and wake the worker. Returns its id.

    ``unique`` names fields whose values (in ``values``) identify the request: a row that
    already has them is returned, and no second one is made. Odoo replays an HTTP request
    after a serialization failure, and the row this function committed outlives the rollback
    of the request's own transaction. Two attempts of one request at once meet on the model's
    UNIQUE constraint: the second gets the first one's row.
    """
    domain = [(name, "=", values[name]) for name in unique]
    try:
        with env.registry.cursor() as cr:
            Model = env(cr=cr, su=True)[model]
            existing = Model.search(domain, limit=1) if unique else Model
            if existing:
                return existing.id
            record = Model.create(values)
            # Delivered at commit to the worker LISTENing on this database.
            cr.execute("SELECT pg_notify(%s, %s)", (channel, str(record.id)))
            cr.commit()
            return record.id
    except psycopg2.errors.UniqueViolation:
        if not unique:
            raise
        with env.registry.cursor() as cr:
            existing = env(cr=cr, su=True)[model].search(domain, limit=1)
        if not existing:
            raise
        return existing.id
