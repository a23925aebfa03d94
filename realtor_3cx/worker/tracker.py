# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""From 3CX call legs to one call per 3CX call id: a state machine without I/O.

What
    3CX reports *legs* (participants, one per DN) that appear, change and disappear; the
    brokerage wants *calls*. :class:`CallTracker` keeps the legs of every live call, grouped by
    ``callid``, and derives a :class:`CallView` for each: direction, the outside number and the
    DID it dialled, the realtor's extension now and the chain of extensions that handled it,
    and the state:

    ============  =====================================================================
    ringing       an extension (or a queue / route point) is ringing, nobody answered
    dialing       a realtor's outbound leg is waiting for the far end
    connected     an extension is talking (stays connected while a transfer rings on)
    completed     over, after an answer
    missed        an inbound call that ended unanswered (``voicemail`` when 3CX says so)
    failed/busy   an outbound call that ended unanswered (``busy`` when 3CX says so)
    ============  =====================================================================

How it works
    A call whose last leg leaves is not over yet: a divert or transfer removes one leg before
    adding the next. It is finalised after ``end_grace`` seconds without legs (or at once when
    a snapshot taken after a reconnect no longer has it). Finished views are handed out once by
    :meth:`CallTracker.take_finished`.

Every method takes ``now`` (UNIX seconds) so tests drive time by hand.
"""

import re
from dataclasses import dataclass, field, replace

EXTENSION = "Wextension"
INTERNAL_TYPES = {EXTENSION, "Wqueue", "Wroutepoint", "Wivr", "Wringgroup"}
# The DNs that ring a team: a queue holds the caller and rings its agents, a ring group rings
# its members on its behalf (``on_behalf_of_dn``). Either is the call's ``queue``.
TEAM_TYPES = {"Wqueue", "Wringgroup"}
LIVE_STATES = ("ringing", "dialing", "connected")
END_GRACE = 2.0


@dataclass(frozen=True)
class CallView:
    call_id: str
    direction: str  # "inbound", "outbound" or "internal"
    state: str
    external_number: str
    external_name: str
    did_number: str
    extension: str  # the realtor's extension now (the last one that talked or rang)
    chain: tuple  # every extension that talked, in order
    ringing: tuple  # extensions ringing now (several for a queue)
    rung: tuple  # every extension that rang, in order
    queue: str  # the queue or ring group (team) the call came through
    start_at: float
    answer_at: float | None
    end_at: float | None
    # Every leg left and the grace runs: the caller hung up, or a transfer is between legs.
    # Nobody rings meanwhile, so the pop-ups go at once rather than when the call ends.
    empty: bool = False
    # Extensions ringing on a phone 3CX cannot answer remotely (the leg's direct_control is
    # false): their pop-up offers no Answer button (docs/3cx-api.md §9).
    no_direct_control: tuple = ()

    @property
    def live(self):
        return self.state in LIVE_STATES

    def as_dict(self):
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class _Call:
    call_id: str
    start_at: float
    direction: str = ""
    external_number: str = ""
    external_name: str = ""
    did_number: str = ""
    queue: str = ""
    legs: dict = field(default_factory=dict)  # (dn, participant id) -> Participant
    answer_at: float | None = None
    chain: list = field(default_factory=list)
    rung: list = field(default_factory=list)
    last_extension: str = ""
    empty_since: float | None = None
    end_at: float | None = None


class CallTracker:
    """Legs in, calls out. One per 3CX server. Not thread-safe: one pipeline thread owns it."""

    def __init__(self, end_grace=END_GRACE):
        self.end_grace = end_grace
        self.calls = {}  # call id (str) -> _Call
        self.dn_types = {}  # DN -> 3CX type, from snapshots
        self._where = {}  # (dn, participant id) -> call id
        self._finished = []
        self._done = {}  # call id -> end time, so late repeats do not revive a logged call
        self.adopted = {}  # call id -> extension: browser calls run on the route point

    # -- input ------------------------------------------------------------------------------

    def apply_snapshot(self, snapshot, now):
        """A full state after (re)connecting: legs not in it are gone, calls without legs end.

        :returns: the call ids whose view changed
        """
        self.dn_types.update({dn.dn: dn.type for dn in snapshot})
        seen = {(p.dn or dn.dn, p.id): p for dn in snapshot for p in dn.participants}
        changed = set()
        for key in list(self._where):
            if key not in seen:
                changed.add(self._drop(key, now))
        for leg in seen.values():
            changed.add(self.upsert(leg, now))
        for call_id, call in list(self.calls.items()):
            if not call.legs:  # a snapshot is the truth: no grace for what it lacks
                self._finish(call, call.empty_since or now)
                changed.add(call_id)
        return {c for c in changed if c}

    def apply_dn(self, dn, participants, now, keep=()):
        """The full list of one DN's legs (``GET /callcontrol/{dn}/participants``).

        :param keep: legs to keep although the list lacks them (3CX may list a leg it just
            announced only a moment later)
        :returns: the call ids whose view changed
        """
        seen = {(p.dn or dn, p.id): p for p in participants}
        changed = {self._drop(key, now) for key in list(self._where)
                   if key[0] == dn and key not in seen and key not in keep}
        changed |= {self.upsert(leg, now) for leg in seen.values()}
        changed.discard(None)
        return changed

    def upsert(self, leg, now):
        """A leg was read (after an Upset). :returns: its call id, or None if unchanged."""
        if leg.callid is None:
            return None
        key = (leg.dn, leg.id)
        call_id = str(leg.callid)
        call = self.calls.get(call_id)
        if call is None:
            if call_id in self._done:
                return None  # a late Upset for a call already logged as over
            call = self.calls[call_id] = _Call(call_id=call_id, start_at=now)
        if call.legs.get(key) == leg:
            return None  # an Upset repeat: nothing changed
        call.legs[key] = leg
        call.empty_since = None
        self._where[key] = call_id
        self._learn(call, leg, now)
        return call_id

    def knows(self, dn, participant_id):
        """Whether this leg is one of a live call's (it was read, and has not left)."""
        return (dn, participant_id) in self._where

    def remove(self, dn, participant_id, now):
        """A Remove frame. :returns: the call id it belonged to, or None."""
        return self._drop((dn, participant_id), now)

    def tick(self, now, hold_from=None):
        """Finalise calls whose legs have been gone for ``end_grace``. :returns: call ids.

        :param hold_from: when the oldest leg 3CX announced but did not show yet was first
            missed: a call still in its grace then may be that leg's (a transfer's next leg)
            and waits; calls whose grace ran out before it end as usual.
        """
        ended = []
        for call in list(self.calls.values()):
            if not call.legs and call.empty_since is not None and \
                    now - call.empty_since >= self.end_grace and \
                    (hold_from is None or call.empty_since + self.end_grace < hold_from):
                self._finish(call, call.empty_since)
                ended.append(call.call_id)
        return ended

    def adopt(self, call_id, extension):
        """A browser call: its route-point leg stands for the realtor's ``extension``."""
        self.adopted[str(call_id)] = extension

    def _effective(self, call_id, leg):
        """(DN, type) a leg counts as: an adopted call's non-extension legs are the realtor's."""
        dn_type = self.dn_types.get(leg.dn, EXTENSION)
        owner = self.adopted.get(call_id)
        if owner and dn_type != EXTENSION:
            return owner, EXTENSION
        return leg.dn, dn_type

    def view(self, call_id):
        call = self.calls.get(call_id)
        if call is None:
            return None
        return self._view(call)

    def take_finished(self):
        """Views of the calls that ended since the last call (each handed out once)."""
        finished, self._finished = self._finished, []
        return finished

    def _drop(self, key, now):
        call_id = self._where.pop(key, None)
        call = self.calls.get(call_id) if call_id else None
        if call is None:
            return None
        call.legs.pop(key, None)
        if not call.legs:
            call.empty_since = now
        return call_id

    def _learn(self, call, leg, now):
        """What a leg teaches about its call: direction and parties (first sight), answers."""
        dn, dn_type = self._effective(call.call_id, leg)
        outside = (leg.party_dn_type or "") not in INTERNAL_TYPES and not (
            leg.party_dn and leg.party_dn in self.dn_types)
        if not call.direction:
            if leg.status == "Dialing" or (leg.originated_by_dn == leg.dn and
                                           dn_type == EXTENSION):
                call.direction = "outbound" if outside else "internal"
            else:
                call.direction = "inbound" if outside else "internal"
        if outside and leg.party_caller_id and not call.external_number:
            call.external_number = leg.party_caller_id
            call.external_name = leg.party_caller_name
        if leg.party_did and not call.did_number:
            call.did_number = leg.party_did
        if dn_type in TEAM_TYPES and not call.queue:
            call.queue = leg.dn
        if leg.on_behalf_of_dn and not call.queue and \
                self.dn_types.get(leg.on_behalf_of_dn) in TEAM_TYPES:
            call.queue = leg.on_behalf_of_dn
        if leg.status == "Ringing" and dn_type == EXTENSION and dn not in call.rung:
            call.rung.append(dn)
        if leg.status == "Connected" and dn_type == EXTENSION:
            if call.answer_at is None:
                call.answer_at = now
            if not call.chain or call.chain[-1] != dn:
                call.chain.append(dn)
            call.last_extension = dn
        elif dn_type == EXTENSION and not call.chain:
            call.last_extension = dn

    def _finish(self, call, at):
        call.end_at = at
        self._finished.append(self._view(call))
        self.calls.pop(call.call_id, None)
        self.adopted.pop(call.call_id, None)
        done = self._done
        done[call.call_id] = at
        if len(done) > 10000:  # keep the memory of finished ids bounded
            for old in sorted(done, key=done.get)[:5000]:
                del done[old]

    def _view(self, call):
        legs = list(call.legs.values())
        ext_legs = [leg for leg in legs if self._effective(call.call_id, leg)[1] == EXTENSION]
        ringing = tuple(sorted(self._effective(call.call_id, leg)[0] for leg in ext_legs
                               if leg.status == "Ringing"))
        if call.end_at is not None:
            if call.answer_at is not None:
                state = "completed"
            else:
                state = "missed" if call.direction == "inbound" else "failed"
        elif any(leg.status == "Connected" for leg in ext_legs):
            state = "connected"
        elif call.answer_at is not None:
            # The caller waits while a transfer rings on, or the call is about to end: an
            # answered call never goes back to ringing.
            state = "connected"
        elif any(leg.status == "Dialing" for leg in ext_legs):
            state = "dialing"
        else:
            state = "ringing"
        extension = call.last_extension
        if ringing and not any(leg.status == "Connected" for leg in ext_legs) and \
                call.answer_at is None and len(ringing) == 1:
            extension = ringing[0]
        return CallView(
            call_id=call.call_id, direction=call.direction or "inbound", state=state,
            external_number=call.external_number, external_name=call.external_name,
            did_number=call.did_number, extension=extension, chain=tuple(call.chain),
            ringing=ringing if call.end_at is None else (), rung=tuple(call.rung),
            queue=call.queue,
            start_at=call.start_at, answer_at=call.answer_at, end_at=call.end_at,
            empty=call.end_at is None and not call.legs,
            no_direct_control=tuple(sorted(
                leg.dn for leg in ext_legs if leg.status == "Ringing"
                and leg.direct_control is False)) if call.end_at is None else ())


def iso_seconds(duration):
    """ISO-8601 ``PT1M5S`` (as 3CX writes durations) -> 65.

    >>> iso_seconds("PT1H2M3.5S"), iso_seconds(""), iso_seconds("junk")
    (3723.5, 0, 0)
    """
    match = re.fullmatch(r"P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", str(duration or ""))
    if not match:
        return 0
    hours, minutes, seconds = (float(x) if x else 0 for x in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def with_call_log(view, row):
    """Settle an unanswered final view with 3CX's call-log row of the call (``{}``: none).

    The worker reads a leg when 3CX says it changed; when it is behind, a leg can be answered
    and gone before it is read, so the call looks unanswered from its legs alone. 3CX's log
    knows better: an answered call is completed, its answer and end times from the log's
    ringing and talking durations. Otherwise the log's reason tells voicemail and busy apart.
    """
    if view.answer_at is not None or not row:
        return view
    if row.get("Answered"):
        answer_at = view.start_at + iso_seconds(row.get("RingingDuration"))
        extension = view.extension or (view.rung[-1] if view.rung else "")
        return replace(view, state="completed", answer_at=answer_at,
                       end_at=answer_at + iso_seconds(row.get("TalkingDuration")),
                       extension=extension,
                       chain=view.chain or ((extension,) if extension else ()))
    return with_reason(view, str(row.get("Reason") or ""))


def with_reason(view, reason):
    """Refine an unanswered final state with 3CX's call-log reason (Voicemail, Busy)."""
    if view.state == "missed" and reason == "Voicemail":
        return replace(view, state="voicemail")
    if view.state == "failed" and reason == "Busy":
        return replace(view, state="busy")
    return view
