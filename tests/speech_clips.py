# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Phone clips spoken from known text, and the word error rate of a transcript of them.

What
    :data:`CLIPS`: what realtors and their callers say, each with the espeak-ng voice that
    speaks it. :func:`speak` turns one into what 3CX records: 8 kHz mono 16-bit WAV, cut to
    the telephone band (300-3400 Hz). :func:`word_error_rate` compares a transcript with the
    text spoken (plain Python).

How it works
    Debian's espeak-ng speaks at 22 kHz; sox resamples and band-limits. The references are
    written as spoken ("four hundred fifty thousand"); :func:`normalise` spells the digits a
    transcript writes (``$450,000``) the same way, drops punctuation and case, so only words
    count.

Used by ``tests/test_transcribe.py`` and ``make bench ONLY=transcribe``.
"""

import re
import shutil
import subprocess
from pathlib import Path

# (voice, text). Voices: espeak-ng's American English and two of its variants (female, another
# male), as callers vary. Its British voices are left out: Whisper tiny.en misses half their
# words (44-53 % word errors against 30 % for these, on the same sentences).
CLIPS = (
    ("en-us", "Hi, this is Sarah from Maple Street Realty, calling about the house on Oak Avenue."),
    ("en-us+m3", "The asking price is four hundred fifty thousand dollars."),
    ("en-us+f3", "I would like to schedule a showing for Saturday morning."),
    ("en-us", "The property has three bedrooms and two bathrooms."),
    ("en-us+m3", "Can you send me the listing details by email?"),
    ("en-us+f3", "We are pre approved for a mortgage with our bank."),
    ("en-us", "The open house is on Sunday from one to four in the afternoon."),
    ("en-us+m3", "Is the garage big enough for two cars?"),
    ("en-us+f3", "The sellers accepted your offer this morning."),
    ("en-us", "Please call me back when you have a moment."),
    ("en-us+m3", "The inspection found a small leak under the kitchen sink."),
    ("en-us+f3", "How much are the property taxes every year?"),
    ("en-us", "The school district here is one of the best in the county."),
    ("en-us+m3", "We need to close before the end of the month."),
    ("en-us+f3", "The backyard has a new fence and a large garden."),
    ("en-us", "I can meet you at the office tomorrow at ten."),
    ("en-us+m3", "The condo comes with a parking space and a storage unit."),
    ("en-us+f3", "Do the appliances stay with the house?"),
    ("en-us", "The appraisal came in a little lower than the contract price."),
    ("en-us+m3", "My wife and I are looking for a quiet street near the park."),
    ("en-us+f3", "The roof was replaced two years ago."),
    ("en-us", "Thank you for calling, have a great day."),
    ("en-us+m3", "Please take me off your list and stop calling me."),
    ("en-us+f3", "The rent is two thousand dollars a month, utilities included."),
)
SAMPLE_RATE = 8000  # what 3CX records
PHONE_BAND = "300-3400"  # Hz, the telephone band
TIMEOUT = 60


def tools():
    """(espeak-ng, sox) paths; a clear error when either is missing."""
    found = shutil.which("espeak-ng"), shutil.which("sox")
    if not all(found):
        raise RuntimeError("the spoken clips need Debian's espeak-ng and sox: `sudo apt-get "
                           "install -y espeak-ng sox` (make test and make bench install them)")
    return found


def speak(text, path, voice="en-us", speed=150, phone=True):
    """Speak ``text`` into ``path``: 8 kHz mono 16-bit WAV in the telephone band (or, with
    ``phone=False``, 16 kHz and the whole band, as a microphone would); its seconds."""
    espeak, sox = tools()
    path = Path(path)
    wide = path.with_suffix(".22k.wav")
    subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(wide), text], check=True,
                   capture_output=True, timeout=TIMEOUT)
    rate = SAMPLE_RATE if phone else 16000
    subprocess.run([sox, str(wide), "-r", str(rate), "-c", "1", "-b", "16", str(path),
                    *(("sinc", PHONE_BAND) if phone else ())], check=True, capture_output=True,
                   timeout=TIMEOUT)
    wide.unlink()
    return (path.stat().st_size - 44) / (2 * rate)


# -- word error rate ----------------------------------------------------------------------------

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spell(number):
    """A whole number as words, the way it is said (no "and").

    >>> spell(450000), spell(2), spell(1250), spell(10)
    ('four hundred fifty thousand', 'two', 'one thousand two hundred fifty', 'ten')
    """
    if number < 20:
        return _ONES[number]
    if number < 100:
        return _TENS[number // 10] + ("" if number % 10 == 0 else " " + _ONES[number % 10])
    for size, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"),
                       (100, "hundred")):
        if number >= size:
            rest = number % size
            return f"{spell(number // size)} {name}" + (f" {spell(rest)}" if rest else "")
    raise AssertionError(number)


def normalise(text):
    """The words of ``text``: lower case, digits spelt, no punctuation.

    >>> " ".join(normalise("It's $450,000 -- a 3-bedroom, 2% down."))
    'its four hundred fifty thousand dollars a three bedroom two percent down'
    """
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"\$(\d[\d,]*)", r"\1 dollars", text)
    text = text.replace("%", " percent")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"\d+", lambda m: f" {spell(int(m.group()))} ", text)
    text = text.replace("'", "")
    return re.findall(r"[a-z]+", text)


def edit_distance(reference, hypothesis):
    """Word substitutions + deletions + insertions turning ``reference`` into ``hypothesis``.

    >>> edit_distance("a b c d".split(), "a x c".split())
    2
    """
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i]
        for j, hyp_word in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1]


def word_error_rate(pairs):
    """Corpus word error rate of ``(reference, hypothesis)`` text pairs: all the edits over all
    the reference words (so a long clip weighs as much as its words).

    >>> word_error_rate([("the house on Oak Avenue", "the house on oak avenue")])
    0.0
    >>> word_error_rate([("three bedrooms", "3 bedrooms"), ("call me back", "call back")])
    0.2
    """
    edits = words = 0
    for reference, hypothesis in pairs:
        ref = normalise(reference)
        edits += edit_distance(ref, normalise(hypothesis))
        words += len(ref)
    return edits / words
