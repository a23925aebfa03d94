# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The outer loop: find the 3CX servers of each database, keep one session per server.

Servers are re-read every ``worker_discovery_interval`` seconds: a new or re-enabled server gets
a session, an archived one loses it, and a changed address, client ID or secret restarts it.
Every server gets a session, which acts for it or stands by: the worker processes of one
database share the servers out among themselves (:mod:`.sharing`).
"""

import logging
import threading

import psycopg2

from .pipeline import ServerSession
from .sharing import Share

_logger = logging.getLogger(__name__)

# What, when changed, needs a new connection (write_date also moves with health writes).
FINGERPRINT = """
    SELECT id, md5(concat_ws('|', base_url, client_id, api_secret_enc))
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

    def cursor(self):
        return self.registry.cursor()

    def env(self, cr):
        return self._api.Environment(cr, self._uid, {})


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
                session = ServerSession(database, name, server_id, self.config, self.stop,
                                        share=share)
                session.start()
                self.sessions[(name, server_id)] = (fingerprint, session)
