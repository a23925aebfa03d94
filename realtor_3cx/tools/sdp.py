# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A browser's WebRTC offer, checked before a call is placed for it.

The worker dials the destination first and answers the offer once the call's leg exists; an
offer its WebRTC peer cannot use would place a call only to drop it milliseconds later (and log
a failed call). So the route refuses such an offer, and the worker checks again before it
dials: what a browser's offer always has, read the way RFC 8866 (SDP), RFC 8839 (ICE) and
RFC 8122 (DTLS fingerprints) write it. Plain Python: Odoo's route and the worker share it.

>>> offer_problem("v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"
...               "a=fingerprint:sha-256 AB:CD\\r\\n"
...               "m=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\na=ice-ufrag:u\\r\\na=ice-pwd:p\\r\\n")
>>> offer_problem("hello")
'not an SDP description'
>>> offer_problem(None)
'not an SDP description'
"""

import re

MAX_SDP = 64 * 1024  # an SDP offer is a few kB (a hundred candidates stay under 16 kB)
_LINE = re.compile(r"[a-z]=[^\x00\r\n]*")
_AUDIO = re.compile(r"m=audio \d{1,5}(?:/\d+)? [A-Z/]*SAVPF?(?: [\w.-]+)+")
_FINGERPRINT = re.compile(r"a=fingerprint:[\w-]+ [0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*")


def offer_problem(sdp):
    """Why ``sdp`` is not a WebRTC offer the worker can answer, or ``None`` when it is.

    An offer must be text of at most :data:`MAX_SDP` bytes, in SDP's ``x=value`` lines
    starting with ``v=0``, with an ``m=audio`` section over (D)TLS-SRTP, and, for that
    section (or the whole session), an ICE user fragment and password and a DTLS
    fingerprint. The reasons are for logs, in English.
    """
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        return "not an SDP description"
    if len(sdp.encode("utf-8", "replace")) > MAX_SDP:
        return f"larger than {MAX_SDP} bytes"
    lines = sdp.replace("\r\n", "\n").rstrip("\n").split("\n")
    bad = next((line for line in lines if not _LINE.fullmatch(line)), None)
    if bad is not None:
        return f"not an SDP line: {bad[:40]!r}"
    session, sections = [], []
    for line in lines:
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            session.append(line)

    def has(lines_, prefix, pattern=None):
        return any(line.startswith(prefix) and (pattern is None or pattern.fullmatch(line))
                   for line in lines_)

    audio = [section for section in sections if section[0].startswith("m=audio ")]
    if not audio:
        return "no audio section"
    if not any(_AUDIO.fullmatch(section[0]) for section in audio):
        return "its audio is not over DTLS-SRTP"
    for section in audio:
        if not _AUDIO.fullmatch(section[0]):
            continue
        missing = [what for what, found in (
            ("ICE user fragment", has(section, "a=ice-ufrag:") or has(session, "a=ice-ufrag:")),
            ("ICE password", has(section, "a=ice-pwd:") or has(session, "a=ice-pwd:")),
            ("DTLS fingerprint", has(section, "a=fingerprint:", _FINGERPRINT)
             or has(session, "a=fingerprint:", _FINGERPRINT)),
        ) if not found]
        if not missing:
            return None
    return "no " + ", ".join(missing)
