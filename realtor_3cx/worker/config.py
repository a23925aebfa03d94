# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The worker's settings: the ``[realtor_3cx]`` section of odoo.conf, then the environment.

=========================  ================================  ==========================
odoo.conf key              environment                       meaning (default)
=========================  ================================  ==========================
worker_databases           REALTOR_3CX_WORKER_DATABASES      databases to serve, comma-
                                                             separated (``db_name``)
worker_batch_ms            REALTOR_3CX_WORKER_BATCH_MS       how long events gather
                                                             before one fetch+write (20)
worker_end_grace           REALTOR_3CX_WORKER_END_GRACE      seconds a call without legs
                                                             waits for a transfer (2)
worker_lock_poll           REALTOR_3CX_WORKER_LOCK_POLL      a standby's lock retry (2 s)
worker_softphone_grace     REALTOR_3CX_WORKER_SOFTPHONE_     seconds a browser call's
                           GRACE                             3CX leg waits for the page
                                                             to come back (30)
worker_health_interval     REALTOR_3CX_WORKER_HEALTH         health written every (5 s)
worker_discovery_interval  REALTOR_3CX_WORKER_DISCOVERY      servers re-read every (10 s)
worker_fetch_threads       REALTOR_3CX_WORKER_FETCH_THREADS  parallel leg reads (8)
worker_recording_threads   REALTOR_3CX_WORKER_RECORDING_     parallel recording
                           THREADS                           downloads (2)
worker_recording_attempts  REALTOR_3CX_WORKER_RECORDING_     tries before a recording
                           ATTEMPTS                          is given up (10)
worker_recording_retry     REALTOR_3CX_WORKER_RECORDING_     first retry delay, doubled
                           RETRY                             per try, capped 1 h (30 s)
worker_phonebook_interval  REALTOR_3CX_WORKER_PHONEBOOK_     seconds between two syncs of
                           INTERVAL                          the 3CX phonebook (60)
worker_phonebook_threads   REALTOR_3CX_WORKER_PHONEBOOK_     phonebook requests at a
                           THREADS                           time (8)
=========================  ================================  ==========================
"""

import configparser
import os
from dataclasses import dataclass, fields

SECTION = "realtor_3cx"


@dataclass
class WorkerConfig:
    databases: tuple = ()
    batch_ms: int = 20
    end_grace: float = 2.0
    lock_poll: float = 2.0
    softphone_grace: float = 30.0
    health_interval: float = 5.0
    discovery_interval: float = 10.0
    fetch_threads: int = 8
    recording_threads: int = 2
    recording_attempts: int = 10
    recording_retry: float = 30.0
    phonebook_interval: float = 60.0
    phonebook_threads: int = 8
    server_ids: tuple = ()  # only these threecx.server ids (operations, tests)

    ENV = {
        "databases": "REALTOR_3CX_WORKER_DATABASES",
        "batch_ms": "REALTOR_3CX_WORKER_BATCH_MS",
        "end_grace": "REALTOR_3CX_WORKER_END_GRACE",
        "lock_poll": "REALTOR_3CX_WORKER_LOCK_POLL",
        "softphone_grace": "REALTOR_3CX_WORKER_SOFTPHONE_GRACE",
        "health_interval": "REALTOR_3CX_WORKER_HEALTH",
        "discovery_interval": "REALTOR_3CX_WORKER_DISCOVERY",
        "fetch_threads": "REALTOR_3CX_WORKER_FETCH_THREADS",
        "recording_threads": "REALTOR_3CX_WORKER_RECORDING_THREADS",
        "recording_attempts": "REALTOR_3CX_WORKER_RECORDING_ATTEMPTS",
        "recording_retry": "REALTOR_3CX_WORKER_RECORDING_RETRY",
        "phonebook_interval": "REALTOR_3CX_WORKER_PHONEBOOK_INTERVAL",
        "phonebook_threads": "REALTOR_3CX_WORKER_PHONEBOOK_THREADS",
    }

    @classmethod
    def from_environ_or_config(cls, conf_path=None, environ=None, db_name=None):
        """Defaults, then ``[realtor_3cx] worker_*`` of ``conf_path``, then the environment.

        :raises ValueError: a value of the wrong type, naming its key
        """
        environ = os.environ if environ is None else environ
        values = {}
        if conf_path:
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(conf_path)
            if parser.has_section(SECTION):
                for f in fields(cls):
                    key = f"worker_{f.name}"
                    if parser.has_option(SECTION, key):
                        values[f.name] = parser.get(SECTION, key)
        for name, var in cls.ENV.items():
            if environ.get(var):
                values[name] = environ[var]
        config = cls()
        for f in fields(cls):
            if f.name not in values:
                continue
            raw = values[f.name]
            try:
                if f.name in ("databases", "server_ids"):
                    items = tuple(x.strip() for x in str(raw).split(",") if x.strip())
                    value = tuple(int(x) for x in items) if f.name == "server_ids" else items
                else:
                    value = type(getattr(config, f.name))(raw)
            except ValueError:
                raise ValueError(f"worker setting {f.name}={raw!r} is not valid") from None
            setattr(config, f.name, value)
        if not config.databases and db_name:
            config.databases = tuple(x.strip() for x in db_name.split(",") if x.strip())
        return config
