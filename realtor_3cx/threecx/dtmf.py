# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""DTMF as sound: the tones a phone plays for a key, and the detector that hears them.

Why in-band
    Sending digits through the Call Control API is not documented (docs/3cx-api.md §7, open), but
    a browser call's audio already flows to 3CX as 8 kHz PCM, and 3CX, like every PBX and IVR,
    hears DTMF in the audio. So the worker plays the key's two tones into the call
    (:func:`key_audio`), and the simulator listens for them (:class:`Detector`) the way the far
    end would.

The figures are ITU-T Q.23/Q.24's: one low (row) and one high (column) frequency per key, a
tone of at least 40 ms, a pause of at least 40 ms; we play 100 ms and pause 70 ms, as desk
phones do. Detection runs the Goertzel filter on 20 ms blocks at the eight frequencies only
when the block is loud enough to hold a key, which keeps it cheap in pure Python.
"""

import array
import math

RATE = 8000
BLOCK = 160  # 20 ms at 8 kHz
ROWS = (697, 770, 852, 941)
COLUMNS = (1209, 1336, 1477, 1633)
KEYS = ("123A", "456B", "789C", "*0#D")
DIGITS = frozenset("".join(KEYS))
TONE_MS = 100
GAP_MS = 70
LEVEL = 7000  # each of the two tones; together about -7 dBFS, loud but never clipping


def frequencies(digit):
    """(low Hz, high Hz) of a key, or ValueError for anything that is not one."""
    for row, keys in enumerate(KEYS):
        column = keys.find(digit) if len(digit) == 1 else -1
        if column >= 0:
            return ROWS[row], COLUMNS[column]
    raise ValueError(f"{digit!r} is not a DTMF key (0-9, *, #, A-D)")


def key_audio(digit):
    """The PCM (s16le, 8 kHz) of one key press: the tone then the pause, whole 20 ms blocks."""
    low, high = frequencies(digit)
    tone = TONE_MS * RATE // 1000
    samples = array.array("h", (
        int(LEVEL * (math.sin(2 * math.pi * low * i / RATE)
                     + math.sin(2 * math.pi * high * i / RATE)))
        for i in range(tone)))
    samples.extend([0] * (GAP_MS * RATE // 1000))
    samples.extend([0] * (-len(samples) % BLOCK))
    return samples.tobytes()


def _power(block, hz):
    coeff = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for x in block:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


class Detector:
    """Feed it PCM (s16le, 8 kHz) in any chunk sizes; it returns the keys it heard.

    A key counts once per press: it must sound in two consecutive blocks (40 ms, the shortest
    legal tone), and the same key only counts again after a block without it. A block is a key
    when its strongest row and column tones carry most of its energy, so speech and music,
    which spread their energy, do not pass for keys; a pure tone (the test microphone's 1 kHz)
    is one frequency, not two, and does not either.
    """

    MIN_ENERGY = BLOCK * 400**2  # quieter than this (about -38 dBFS) holds no key

    def __init__(self):
        self._pending = bytearray()
        self._candidate = None  # key heard in the previous block
        self._current = None  # key already reported and still sounding

    def feed(self, pcm):
        self._pending.extend(pcm)
        heard = []
        while len(self._pending) >= BLOCK * 2:
            block = array.array("h", bytes(self._pending[: BLOCK * 2]))
            del self._pending[: BLOCK * 2]
            key = self._key(block)
            if key is None:
                self._candidate = self._current = None
            elif key == self._candidate and key != self._current:
                heard.append(key)
                self._current = key
            self._candidate = key
        return "".join(heard)

    def _key(self, block):
        energy = sum(x * x for x in block)
        if energy < self.MIN_ENERGY:
            return None
        rows = [_power(block, hz) for hz in ROWS]
        columns = [_power(block, hz) for hz in COLUMNS]
        row = max(range(4), key=rows.__getitem__)
        column = max(range(4), key=columns.__getitem__)
        # Goertzel power of a full-scale sine over N samples is (N * amplitude / 2) ** 2, and the
        # block's energy is N * amplitude ** 2 / 2: so a pure key has power ~ energy * N / 2 for
        # each of its two tones. Require both, and most of the energy between them.
        scale = energy * BLOCK / 2
        if rows[row] < 0.2 * scale or columns[column] < 0.2 * scale:
            return None
        if rows[row] + columns[column] < 0.6 * scale:
            return None
        return KEYS[row][column]
