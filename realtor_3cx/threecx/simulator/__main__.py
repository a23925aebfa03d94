# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``python -m realtor_3cx.threecx.simulator --port 5001 [--demo]``: a 3CX V20 on this machine.

Logs one line when it listens (``3CX simulator listening on http://127.0.0.1:5001 ...``) and
stops on Ctrl-C, SIGTERM, or when ``--parent-pid`` dies (so ``make run`` never leaves it behind).
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import fields

from aiohttp import web

from . import demo
from .server import SimConfig, Simulator, ssl_context

_logger = logging.getLogger("realtor_3cx.threecx.simulator")


def parse_args(argv=None):
    defaults = SimConfig()
    parser = argparse.ArgumentParser(prog="python -m realtor_3cx.threecx.simulator",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=defaults.host,
                        help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--client-id", default=defaults.client_id,
                        help="the API integration's Client ID, also its route point DN")
    parser.add_argument("--client-secret", default=os.environ.get(
        "REALTOR_3CX_SIM_SECRET", defaults.client_secret),
        help="its API key (or REALTOR_3CX_SIM_SECRET)")
    parser.add_argument("--version", default=defaults.version, help="X-3CX-Version to report")
    parser.add_argument("--expires-in-unit", choices=("seconds", "minutes"),
                        default=defaults.expires_in_unit,
                        help="unit of expires_in: minutes before 20.0.9, seconds since")
    parser.add_argument("--finalstatus", choices=("number", "string"),
                        default=defaults.finalstatus)
    parser.add_argument("--speed", type=float, default=defaults.speed,
                        help="multiply every PBX delay (0.1: ten times faster)")
    parser.add_argument("--audio", choices=("tone", "echo"), default=defaults.audio)
    parser.add_argument("--tls", action="store_true", help="HTTPS/WSS with a self-signed cert")
    parser.add_argument("--demo", nargs="?", const="gentle", choices=sorted(demo.PACES),
                        default=None,
                        help="generate realistic call traffic: gentle (the default: a call "
                             "every 3 minutes, answered only by you) or busy (every 25 s, "
                             "most answered by the simulated phones)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the --demo traffic")
    parser.add_argument("--state-file", default=None,
                        help="keep the call log and call ids here across restarts, as 3CX's "
                             "database does (loaded at start, written every 30 s and on stop; "
                             "calls in progress end when it stops)")
    parser.add_argument("--max-history", type=int, default=None,
                        help=f"finished calls kept (default {defaults.max_history})")
    parser.add_argument("--ring-timeout", type=float, default=None,
                        help=f"seconds a leg rings before voicemail or missed (default "
                             f"{defaults.ring_timeout}, times --speed)")
    parser.add_argument("--no-direct-control", action="append", default=[], metavar="DN",
                        help="a DN whose phones 3CX cannot answer remotely (answer gets 422, "
                             "the pop-up offers no Answer); repeat for several")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="exit when this process is gone")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(args):
    names = {f.name for f in fields(SimConfig)}
    config = SimConfig(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    simulator = Simulator(config)
    for number in args.no_direct_control:
        simulator.pbx.set_direct_control(number, False)
    # A PBX going down cuts its audio streams: do not wait a minute for them to finish.
    runner = web.AppRunner(simulator.app, access_log=None, handle_signals=False,
                           shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context(config))
    await site.start()
    scheme = "https" if config.tls else "http"
    _logger.info("3CX simulator listening on %s://%s:%s (client id %s, version %s%s)", scheme,
                 config.host, config.port, config.client_id, config.version,
                 f", {args.demo} demo traffic" if args.demo else "")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    tasks = []
    if args.demo:
        tasks.append(asyncio.ensure_future(demo.run(simulator, seed=args.seed, pace=args.demo)))
    if args.parent_pid:
        tasks.append(asyncio.ensure_future(_watch_parent(args.parent_pid, stop)))
    await stop.wait()
    _logger.info("3CX simulator stopping")
    for task in tasks:
        task.cancel()
    await runner.cleanup()


async def _watch_parent(pid, stop):
    while True:
        await asyncio.sleep(1)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set()
            return
        except PermissionError:  # alive, owned by someone else
            continue


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
