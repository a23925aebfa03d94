# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``--demo``: realistic, reproducible call traffic for ``make run``.

Callers come from the demo database (a couple sharing one number, a buyer, a do-not-call
contact, a per-listing DID) plus unknown numbers; they ring a realtor or the team queue, and
are answered, missed or sent to voicemail. The same ``--seed`` gives the same day.
"""

import asyncio
import logging
import random

from .state import RINGING

_logger = logging.getLogger(__name__)

# (number, name the carrier sends, DID dialled): the numbers of the addon's demo data.
CALLERS = (
    ("+15550102030", "LEE JORDAN", ""),
    ("+15550102030", "LEE JORDAN", "+15550101001"),
    ("+15550104040", "AVERY BROOKS", ""),
    ("+15550104040", "", "+15550101001"),
    ("+15550105050", "", ""),
    ("+15550109999", "", "+15550101001"),
    ("+442079460958", "", ""),
    ("+15550107777", "WIRELESS CALLER", ""),
)
TARGETS = ("100", "101", "102", "800")


async def run(simulator, seed=None, mean_gap=25.0):
    """Start a call every ``mean_gap`` seconds (scaled by the simulator's speed), forever."""
    rng = random.Random(seed)
    pbx = simulator.pbx
    speed = simulator.config.speed
    while True:
        await asyncio.sleep(rng.expovariate(1 / mean_gap) * speed)
        number, name, did = rng.choice(CALLERS)
        target = "800" if did else rng.choice(TARGETS)
        try:
            call = pbx.inbound(number, target, did=did, caller_name=name)
        except Exception:  # a demo step must never stop the traffic
            _logger.exception("demo: could not start a call")
            continue
        _logger.info("demo: %s calls %s (call %s)", number, target, call.callid)
        if rng.random() < 0.7:
            asyncio.ensure_future(_answer_later(simulator, call.callid, rng))


async def _answer_later(simulator, callid, rng):
    speed = simulator.config.speed
    await asyncio.sleep(rng.uniform(3, 9) * speed)
    pbx = simulator.pbx
    ringing = [leg for leg in pbx.active_legs() if leg.callid == callid and leg.status == RINGING
               and pbx.dns[leg.dn].type == "Wextension"]
    if not ringing:
        return
    pbx.answer(rng.choice(ringing))
    await asyncio.sleep(rng.uniform(15, 120) * speed)
    call = pbx.calls.get(callid)
    if call is not None and call.ended_at is None:
        pbx.hangup(callid, rng.choice(("caller", "callee")))
