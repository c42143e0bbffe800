"""Audio output: sounddevice when PortAudio and a device exist, else silent (captions only).

``Player`` owns the ``tts`` thread: a bounded queue of lines, one played at a time, interruptible.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.voice.audio import Audio

log = logging.getLogger(__name__)


class AudioOutput(Protocol):
    audible: bool

    def play(self, audio: Audio, stop: threading.Event) -> None:
        """Play to the end, or until ``stop`` is set; blocks (poll ``stop`` at least every 0.1 s)."""


class NullOutput:
    """No device: playback takes no time (``realtime=False``) or the audio's duration (True)."""

    audible = False

    def __init__(self, *, realtime: bool = True) -> None:
        self.realtime = realtime
        self.first_sample_at: list[float] = []  # perf_counter of each hand-over (benchmarks)

    def play(self, audio: Audio, stop: threading.Event) -> None:
        self.first_sample_at.append(time.perf_counter())
        if self.realtime:
            stop.wait(audio.duration_s)


class SoundDeviceOutput:
    audible = True

    def __init__(self, sd: Any) -> None:
        self._sd = sd

    def play(self, audio: Audio, stop: threading.Event) -> None:
        block = max(audio.rate // 20, 1)  # 50 ms
        with self._sd.OutputStream(samplerate=audio.rate, channels=1, dtype="float32") as stream:
            for i in range(0, len(audio.samples), block):
                if stop.is_set():
                    break
                stream.write(np.ascontiguousarray(audio.samples[i : i + block]).reshape(-1, 1))


_warned = False


def open_output() -> AudioOutput:
    """The default output device, or a silent ``NullOutput`` (logged once) when there is none."""
    global _warned  # noqa: PLW0603  (one warning per process)
    try:
        import sounddevice

        sounddevice.query_devices(kind="output")
        return SoundDeviceOutput(sounddevice)
    except Exception as exc:  # no PortAudio: OSError; no device: sounddevice.PortAudioError
        if not _warned:
            log.warning("No audio output (%s): the coach runs silent, with captions only", exc)
            _warned = True
        return NullOutput()


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    audio: Audio
    kind: str = "line"
    interrupts: bool = False


class Player:
    def __init__(
        self,
        output: AudioOutput,
        *,
        on_start: Callable[[Line], None] | None = None,
        on_done: Callable[[Line], None] | None = None,
        max_queue: int = 4,
    ) -> None:
        self.output = output
        self.volume = 1.0
        self._on_start = on_start
        self._on_done = on_done
        self._queue: queue.Queue[Line] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._cut = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tts", daemon=True)
        self._playing = False
        self.dropped = 0

    @property
    def idle(self) -> bool:
        """Nothing playing and nothing queued."""
        return not self._playing and self._queue.empty()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._cut.set()
        self._thread.join(timeout=2.0)

    def say(self, line: Line) -> None:
        if line.interrupts:
            self._drain()
            self._cut.set()
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1
            log.debug("Speech queue full; dropped %r", line.text)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self._cut.clear()
            self._playing = True
            if self._on_start is not None:
                self._on_start(line)
            try:
                audio = line.audio
                if self.volume != 1.0:
                    audio = Audio(np.clip(audio.samples * self.volume, -1, 1).astype(np.float32), audio.rate)
                self.output.play(audio, self._cut)
            except Exception:
                log.exception("Playback failed; continuing silent")
                self.output = NullOutput()
            if self._on_done is not None:
                self._on_done(line)
            self._playing = False
