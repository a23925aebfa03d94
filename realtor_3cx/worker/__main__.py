# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``python -m realtor_3cx.worker -c odoo.conf [-d DB] [--server ID]``: see the package docs."""

import argparse
import signal
import sys
import threading

from .config import WorkerConfig
from .runner import Runner


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m realtor_3cx.worker",
                                     description="Live 3CX calls into Odoo.")
    parser.add_argument("-c", "--config", required=True, help="the Odoo configuration file")
    parser.add_argument("-d", "--database", help="database(s), comma-separated")
    parser.add_argument("--server", action="append", type=int, default=[],
                        help="only this threecx.server id (repeatable)")
    parser.add_argument("--log-level", default=None, help="Odoo log level (default: conf)")
    args = parser.parse_args(argv)

    import odoo
    from odoo.tools import config as odoo_config

    odoo_args = ["-c", args.config]
    if args.log_level:
        odoo_args.append(f"--log-level={args.log_level}")
    odoo_config.parse_config(odoo_args)
    odoo.netsvc.init_logger()
    try:
        config = WorkerConfig.from_environ_or_config(
            args.config, db_name=args.database or odoo_config.get("db_name") or "")
    except ValueError as exc:
        parser.error(str(exc))
    if args.database:
        config.databases = tuple(x.strip() for x in args.database.split(",") if x.strip())
    if args.server:
        config.server_ids = tuple(args.server)
    if not config.databases:
        parser.error("name the database: -d, db_name in [options] or worker_databases in "
                     "[realtor_3cx]")
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    Runner(config, stop).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
