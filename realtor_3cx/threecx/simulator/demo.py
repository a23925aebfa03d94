# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``--demo``: realistic, reproducible call traffic for ``make run``.

Callers come from the demo database (a couple sharing one number, a buyer, a do-not-call
contact, a per-listing DID) plus unknown numbers; they ring a realtor or the team queue, and
are answered, missed or sent to voicemail. The same ``--seed`` gives the same day.

Two paces (``--demo gentle|busy``):

- ``gentle`` (``make run``'s default): a call every three minutes on average, and nobody but
  the person trying the product answers: a call they take in Odoo is theirs (the caller hangs
  up after a while and they are asked its outcome), one they leave rings out as missed. No
  prompt ever asks about a call they did not take.
- ``busy``: a call every 25 seconds, 70% of them answered by the simulated desk phones, for a
  lively dashboard (each answered call asks its realtor for an outcome).
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
# pace -> (mean seconds between two calls, share answered by the simulated desk phones)
PACES = {"gentle": (180.0, 0.0), "busy": (25.0, 0.7)}


async def run(simulator, seed=None, pace="busy"):
    """Start calls at ``pace`` (delays scaled by the simulator's speed), forever."""
    mean_gap, answered = PACES[pace]
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
        if rng.random() < answered:
            asyncio.ensure_future(_answer_later(simulator, call.callid, rng))
        else:
            asyncio.ensure_future(_hang_up_once_taken(simulator, call.callid, rng))


async def _answer_later(simulator, callid, rng):
    speed = simulator.config.speed
    await asyncio.sleep(rng.uniform(3, 9) * speed)
    pbx = simulator.pbx
    ringing = [leg for leg in pbx.active_legs() if leg.callid == callid and leg.status == RINGING
               and pbx.dns[leg.dn].type == "Wextension"]
    if not ringing:
        return
    pbx.answer(rng.choice(ringing))
    await _hang_up_later(simulator, callid, rng)


async def _hang_up_once_taken(simulator, callid, rng):
    """A call left to the person trying the product: when they take it (from Odoo's pop-up or
    the softphone), the caller talks a while and hangs up, as a caller would."""
    pbx = simulator.pbx
    while True:
        await asyncio.sleep(0.5)
        call = pbx.calls.get(callid)
        if call is None or call.ended_at is not None:
            return
        if call.answered_at is not None:
            break
    await _hang_up_later(simulator, callid, rng)


async def _hang_up_later(simulator, callid, rng):
    await asyncio.sleep(rng.uniform(15, 120) * simulator.config.speed)
    call = simulator.pbx.calls.get(callid)
    if call is not None and call.ended_at is None:
        simulator.pbx.hangup(callid, rng.choice(("caller", "callee")))
