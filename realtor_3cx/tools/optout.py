# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Spoken opt-outs in a call's transcript: "stop calling me", "take me off your list".

Plain Python (no Odoo): the call model runs it when a transcript is written, and only a
telephony manager's review turns a find into a do-not-call (models/threecx_optout.py), so the
phrases aim at what callers say to end calls, not at every way of saying no: a missed opt-out
is a complaint, a false one is a click on "Not an opt-out".

The text is compared case- and punctuation-insensitively: lower case, apostrophes dropped
("don't" is "dont", curly or straight), every other run of non-letters one space. A transcript
with speaker turns ("Agent: ...", "Caller: ...", as 3CX writes them) is read in the other
party's turns only: a realtor asking "shall I take you off our list?" is no opt-out.
"""

import re

# One alternation per idea, over the normalised text (see normalise()); \b on both ends.
_ME = r"(?:me|us|this number|my number|this phone|my phone|here)"
_CALL = r"(?:call|calling|phone|phoning|ring|ringing|contact|contacting|bother|bothering)"
_LIST = (r"(?:list|lists|calling list|call list|contact list|phone list|mailing list|database"
         r"|system|records)")
PHRASES = (
    # stop calling me / quit phoning us / stop contacting this number
    rf"(?:stop|quit|cease) {_CALL} {_ME}",
    # don't call me again / do not call this number / never call me anymore / don't ring here
    rf"(?:dont|do not|dont you|dont ever|do not ever) {_CALL} {_ME}",
    rf"never {_CALL} {_ME} (?:again|anymore|any more)",
    # take me off your list / take my number out of your database / remove us from the list
    rf"(?:take|get|cross|strike) {_ME} (?:off|out of|off of) (?:your|the|this|that|all your)"
    rf" {_LIST}",
    rf"(?:remove|delete|erase) {_ME} (?:from|off) (?:your|the|this|that|all your) {_LIST}",
    # put me on your do not call list / add my number to the do-not-call list
    r"(?:put|add|place) (?:me|us|my number|this number) (?:on|to) (?:your|the) "
    r"(?:do not call|dont call|no call|dnc) (?:list|register|registry)",
    # I don't want any more calls / we do not want your calls / no more calls
    r"(?:i|we) (?:dont|do not) want (?:any more|anymore|any|more|further|your|these|any further)"
    r" (?:calls|phone calls)",
    r"no more (?:calls|phone calls)",
)
PATTERN = re.compile(r"\b(?:%s)\b" % "|".join(PHRASES))
# The speaker labels of the realtor's side of a transcript; other labels are the caller's.
OWN_SIDE = ("agent", "realtor", "extension", "operator", "me")
_TURN = re.compile(r"^\s*([A-Za-z][\w .'-]{0,30}?)\s*:\s*(.*)$")
APOSTROPHES = "'\u2019\u2018`\u02bc"
EXCERPT_CHARS = 80  # of context on each side of the phrase


def normalise(text):
    """``text`` lower case, apostrophes dropped, other non-alphanumerics one space; and for
    each character of the result the index of the character of ``text`` it comes from."""
    chars, origin = [], []
    space = True
    for i, char in enumerate(text):
        if char in APOSTROPHES:
            continue
        if char.isalnum():
            chars.append(char.lower())
            origin.append(i)
            space = False
        elif not space:
            chars.append(" ")
            origin.append(i)
            space = True
    return "".join(chars), origin


def _turns(transcript):
    """(line start, spoken text start, text) of the turns that are not the realtor's."""
    position = 0
    for line in transcript.splitlines(keepends=True):
        turn = _TURN.match(line)
        if turn and turn.group(1).strip().lower() in OWN_SIDE:
            position += len(line)
            continue
        offset = turn.start(2) if turn else 0
        yield position, position + offset, line[offset:]
        position += len(line)


def find_optout(transcript):
    """The first spoken opt-out in ``transcript``: ``(phrase, excerpt)`` or None.

    ``phrase`` is the words as said (the transcript's own characters), ``excerpt`` the line
    around it, cut to about 80 characters on each side at word boundaries.
    """
    if not transcript:
        return None
    for line_start, start, text in _turns(transcript):
        normal, origin = normalise(text)
        found = PATTERN.search(normal)
        if not found:
            continue
        begin = start + origin[found.start()]
        end = start + origin[found.end() - 1] + 1
        phrase = transcript[begin:end]
        line_end = transcript.find("\n", line_start)
        line_end = len(transcript) if line_end < 0 else line_end
        return phrase, _excerpt(transcript, line_start, line_end, begin, end)
    return None


def _excerpt(text, line_start, line_end, begin, end):
    left = max(line_start, begin - EXCERPT_CHARS)
    right = min(line_end, end + EXCERPT_CHARS)
    if left > line_start:
        cut = text.find(" ", left, begin)
        left = cut + 1 if cut >= 0 else left
    if right < line_end:
        cut = text.rfind(" ", end, right)
        right = cut if cut >= 0 else right
    return "%s%s%s" % ("…" if left > line_start else "", text[left:right].strip(),
                       "…" if right < line_end else "")
