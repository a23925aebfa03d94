# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The outer loop: find the 3CX servers of each database, keep one session per server.

Servers are re-read every ``worker_discovery_interval`` seconds: a new or re-enabled server gets
a session, an archived one loses it, and a changed address, client ID, secret or company
restarts it. Every server gets a session, which acts for it or stands by: the worker processes
of one database share the servers out among themselves (:mod:`.sharing`).

Every transaction a session opens first asks Odoo's registry signalling whether another process
changed something, as Odoo's HTTP and cron workers do: after ``-u realtor_3cx`` the registry is
reloaded (the new code runs from the next transaction on), and after a change of settings or of
a company's country the caches are cleared, so no restart is needed for either.
"""

import contextlib
import logging
import sys
import threading

import psycopg2

from .pipeline import ServerSession
from .sharing import Share

_logger = logging.getLogger(__name__)

# What, when changed, needs a new connection or a session in another company (write_date also
# moves with health writes).
FINGERPRINT = """
    SELECT id, md5(concat_ws('|', base_url, client_id, api_secret_enc, company_id))
      FROM threecx_server
     WHERE active AND api_secret_enc IS NOT NULL AND coalesce(client_id, '') <> ''
"""


class Database:
    """Odoo's registry of one database, as the sessions use it."""

    def __init__(self, name):
        import odoo
        from odoo import SUPERUSER_ID, api
        from odoo.sql_db import connection_info_for

        self.name = name
        self._api, self._uid = api, SUPERUSER_ID
        self.registry = odoo.modules.registry.Registry(name)
        if "threecx.call" not in self.registry:
            raise SystemExit(f"realtor_3cx is not installed in database {name!r}")
        self.dsn = connection_info_for(name)[1]
        # The sessions' threads share the registry: one of them reloads it, not each.
        self._signaling = threading.Lock()

    @contextlib.contextmanager
    def cursor(self):
        """A transaction, committed when the block ends without error (as Odoo's cursor).

        It starts with Odoo's check of the registry and cache sequences, as an HTTP request
        does: a module upgrade or another process's cache invalidation (settings, a company's
        country) is seen here. What this transaction invalidates itself is signalled to the
        other processes after it, as a cron job does.
        """
        registry = self.registry
        try:
            with registry.cursor() as cr:
                with self._signaling:
                    registry = self.registry.check_signaling(cr)
                    if registry is not self.registry:
                        _logger.info("worker: registry of %s reloaded (sequence %s)",
                                     self.name, registry.registry_sequence)
                        self.registry = registry
                yield cr
        except BaseException:
            registry.reset_changes()
            raise
        registry.signal_changes()

    def env(self, cr, company_id=None):
        """The superuser's environment, in ``company_id`` when given (the records the worker
        creates get that company, national numbers are read in its country)."""
        context = {"allowed_company_ids": [company_id]} if company_id else {}
        return self._api.Environment(cr, self._uid, context)

    def for_server(self, server_id):
        return ServerDatabase(self, server_id)


class ServerDatabase:
    """The database as one server's session uses it: every environment in the server's company.

    The company is read once: a server moved to another company gets a new session (it is part
    of :data:`FINGERPRINT`).
    """

    def __init__(self, database, server_id):
        self.database, self.server_id = database, server_id
        self.name, self.dsn = database.name, database.dsn
        self.company_id = None

    def cursor(self):
        return self.database.cursor()

    def env(self, cr):
        if self.company_id is None:
            cr.execute("SELECT company_id FROM threecx_server WHERE id = %s", [self.server_id])
            row = cr.fetchone()
            self.company_id = row[0] if row else False
        return self.database.env(cr, self.company_id)


class Runner:
    def __init__(self, config, stop=None):
        self.config = config
        self.stop = stop or threading.Event()
        self.sessions = {}  # (db, server id) -> (fingerprint, ServerSession)
        self.databases = {}
        self.shares = {}  # db -> this worker's Share of its servers

    def run(self):
        _logger.info("worker: serving %s", ", ".join(self.config.databases))
        while not self.stop.is_set():
            for name in self.config.databases:
                database = self.databases.get(name) or self._open(name)
                if database is None:
                    continue
                try:
                    self._discover(name, database)
                except Exception as exc:  # the database may be restarting: try again later
                    _logger.warning("worker: cannot read the 3CX servers of %s: %s", name, exc)
            self.stop.wait(self.config.discovery_interval)
        for _fingerprint, session in self.sessions.values():
            session.retire()
        for _fingerprint, session in self.sessions.values():
            session.join(10)
        for share in self.shares.values():
            share.close()
        transcribe = sys.modules.get(f"{__package__}.transcribe")
        if transcribe is not None:  # only when a call was transcribed here
            transcribe.close_shared()
        _logger.info("worker: stopped")

    def _open(self, name):
        """The database's registry, or None while PostgreSQL is away (started together with
        it, or restarting): the worker waits for it rather than exiting."""
        try:
            database = self.databases[name] = Database(name)
        except psycopg2.OperationalError as exc:
            _logger.warning("worker: database %s unavailable, trying again in %s s: %s", name,
                            self.config.discovery_interval, str(exc).strip().splitlines()[0])
            return None
        return database

    def _discover(self, name, database):
        with database.cursor() as cr:
            cr.execute(FINGERPRINT)
            wanted = dict(cr.fetchall())
        if self.config.server_ids:
            wanted = {k: v for k, v in wanted.items() if k in self.config.server_ids}
        share = self.shares.get(name)
        if share is None:
            # The roll call twice per lock poll: a standby that wakes sees a fresh count.
            share = self.shares[name] = Share(database.dsn, self.config.server_ids,
                                              self.config.lock_poll / 2)
        share.set_servers(wanted)
        for key in [k for k in self.sessions if k[0] == name]:
            fingerprint, session = self.sessions[key]
            if wanted.get(key[1]) != fingerprint or not session.is_alive():
                session.retire()
                del self.sessions[key]
        for server_id, fingerprint in wanted.items():
            if (name, server_id) not in self.sessions:
                session = ServerSession(database.for_server(server_id), name, server_id,
                                        self.config, self.stop, share=share)
                session.start()
                self.sessions[(name, server_id)] = (fingerprint, session)
