"""Voice commands on every screen: one microphone listener for the app's life, routed to the screen shown.

The listener (Silero VAD, the grammar recogniser, Moonshine's check: seconds to load, hundreds of MB)
is loaded once, off the GUI thread, when the settings ask for voice commands. Each accepted command
arrives on the GUI thread as ``heard`` and the window hands it to the current screen's ``on_voice``;
a workout applies the coach's echo guard and its ``VoiceControl``. Push-to-talk: ``press`` and
``release`` (a held key, the on-screen button); without it the listener is always open.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from app.ui.jobs import JobRunner
from app.voice.listener import CommandListener, Heard

log = logging.getLogger(__name__)


class AppVoice(QObject):
    heard = Signal(object)  # Heard, on the GUI thread
    unclear = Signal(object)  # Heard: said with push-to-talk, no command (``MicrophoneListener``)
    state_changed = Signal(str)  # "loading", "listening", "push-to-talk", "off", or why there is none

    _relay = Signal(object)
    _unclear_relay = Signal(object)

    def __init__(self, jobs: JobRunner, *, push_to_talk: bool = False, wake_word: bool = False) -> None:
        super().__init__()
        self._jobs = jobs
        self.push_to_talk, self.wake_word = push_to_talk, wake_word
        self._listener: CommandListener | None = None
        self._mic: Any = None
        self.state = "off"
        self._stopped = False  # stop() came first: a listener that finishes loading is closed at once
        self._relay.connect(self.heard.emit, Qt.ConnectionType.QueuedConnection)
        self._unclear_relay.connect(self.unclear.emit, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        self._set("loading")
        self._jobs.submit(self._open, self._opened, self._failed)

    def _open(self) -> tuple[CommandListener, Any]:
        import sounddevice  # OSError without PortAudio

        from app.voice.listener import MicrophoneListener, create_listener

        sounddevice.query_devices(kind="input")  # PortAudioError without an input device
        listener = create_listener(wake_word=self.wake_word)
        listener.push_to_talk = self.push_to_talk
        mic = MicrophoneListener(listener, self._relay.emit, self._unclear_relay.emit)
        mic.start()
        return listener, mic

    def _opened(self, parts: tuple[CommandListener, Any]) -> None:
        if self._stopped:
            parts[1].stop()
            return
        self._listener, self._mic = parts
        self._set("push-to-talk" if self.push_to_talk else "listening")

    def _failed(self, exc: BaseException) -> None:
        log.warning("No voice commands: %s", exc)
        self._set(f"no microphone ({exc})" if isinstance(exc, OSError) else f"no voice commands ({exc})")

    def _set(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    @property
    def ready(self) -> bool:
        return self._listener is not None

    def press(self) -> None:
        if self._listener is not None:
            self._listener.press()

    def release(self) -> None:
        if self._listener is not None:
            self._listener.release()

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(RuntimeError, TypeError):  # nothing more reaches the window
            self.heard.disconnect()
            self.unclear.disconnect()
        if self._mic is not None:
            self._mic.stop()
        self._mic = self._listener = None
        self._set("off")


def describe(state: str) -> str:
    return {
        "loading": "Voice: loading…",
        "listening": "Voice: listening",
        "push-to-talk": "Voice: hold T to talk",
        "off": "Voice: off",
    }.get(state, f"Voice: {state}")


__all__ = ["AppVoice", "Heard", "describe"]
