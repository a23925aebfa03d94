# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Recognise the audio files 3CX writes from their first bytes (no Odoo, no I/O).

A download that is no audio (an HTML error page from a proxy, a cut file) must not be stored
as a recording; the worker retries it instead.

>>> audio_mimetype(b"RIFF\\x24\\x00\\x00\\x00WAVEfmt \\x10\\x00")
'audio/wav'
>>> audio_mimetype(b"<html>Service unavailable</html>") is None
True
"""

# WAV (RIFF....WAVE), MP3 (an ID3 tag or an MPEG frame sync), Ogg.
AUDIO_MAGIC = {
    "audio/wav": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE",
    "audio/mpeg": lambda b: b[:3] == b"ID3" or (b[0] == 0xFF and b[1] & 0xE0 == 0xE0),
    "audio/ogg": lambda b: b[:4] == b"OggS",
}
EXTENSIONS = {"audio/wav": "wav", "audio/mpeg": "mp3", "audio/ogg": "ogg"}


def audio_mimetype(data):
    """The audio type of ``data`` from its first bytes, or ``None`` when it is no audio."""
    if len(data) <= 12:
        return None
    for mimetype, test in AUDIO_MAGIC.items():
        if test(data):
            return mimetype
    return None
