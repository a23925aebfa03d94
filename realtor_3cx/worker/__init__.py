# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The worker: live 3CX calls into Odoo, exactly once. Runs as its own process.

What
    For every active ``threecx.server`` of each configured database, one
    :class:`~.pipeline.ServerSession` holds the 3CX event WebSocket, turns legs into calls
    (:mod:`.tracker`) and writes them with ``threecx.call._sync_from_3cx``: records, bus
    notifications to the realtors, call-back activities, chatter lines, and the server's health.

How it works
    A PostgreSQL advisory lock per server decides who acts. The workers of a database share
    the servers out, at most ``ceil(M / N)`` each, and take a dead one's over within seconds
    (:mod:`.sharing`); ``--server`` pins a worker. Upsets are
    batched for ``worker_batch_ms``; repeats of one leg are read once, and a batch with many
    legs is read as one snapshot. Nothing is written when nothing changed. When PostgreSQL is
    away, the latest view of every call waits in memory (one per call, so the buffer is
    bounded by live calls) and is written when it returns. After every reconnect, a snapshot
    and the XAPI call log settle the calls that ended meanwhile.

How to use
    ``python -m realtor_3cx.worker -c odoo.conf [-d DB]`` (``make run`` starts it). Never run it
    inside Odoo's HTTP workers; it works with Odoo in threaded or prefork mode alike. Settings:
    :mod:`.config`.

Log lines
    INFO ``worker: acting for 3CX server N (db)`` / ``standing by for 3CX server N`` /
    ``handing 3CX server N over`` / ``K worker(s) share the 3CX servers``; the event stream's
    ``3CX events connected ...``; WARNING ``database unavailable, N call(s) held``.

Browser calls and the event loop
    A leg that a read which began after its Upset showed is not read again for that Upset (a
    worker behind its stream skips the repeats queued behind a whole-state read). Browser
    calls are set up (the route point's hand-over, ICE, DTLS) and closed off this loop, in a
    small thread pool and in the session's media process (:mod:`.media_process`, which runs
    :mod:`.media`), whose results come back to it: another call's events never wait for them,
    and the bridges' audio work does not share the worker's interpreter. That process starts
    at the first browser call, so a worker that makes none never loads aiortc or PyAV.

Caveats
    The XAPI call log is read for unanswered calls only, to tell voicemail and busy apart.
"""
