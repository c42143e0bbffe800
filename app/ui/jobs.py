"""Finite background work (a report, an export, a model load): run on a pool, answered on the GUI thread.

``JobRunner.submit(fn, done, failed)`` runs ``fn`` on its executor and calls ``done(result)`` or
``failed(exc)`` on the GUI thread. Tests hand it an inline executor. ``ProgressJob`` adds a
progress callback and a cancel flag for work that can report and stop (a video analysis).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)


class Cancelled(Exception):  # noqa: N818 (a state, not a failure)
    """Raised inside a job whose cancel flag was set."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled


class JobRunner(QObject):
    _finished = Signal(object, object, bool)  # (callback, value, is_error)

    def __init__(self, executor: Executor | None = None) -> None:
        super().__init__()
        self._own = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=2, thread_name_prefix="ui-job")
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._pending: set[Future[Any]] = set()

    def submit(
        self,
        fn: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> Future[Any]:
        future = self._executor.submit(fn)
        self._pending.add(future)

        def relay(f: Future[Any]) -> None:
            self._pending.discard(f)
            exc = f.exception()
            if exc is None:
                self._finished.emit(done, f.result(), False)
            else:
                self._finished.emit(failed, exc, True)

        future.add_done_callback(relay)
        return future

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    @Slot(object, object, bool)
    def _deliver(self, callback: Callable[[Any], None], value: object, is_error: bool) -> None:
        if is_error and not isinstance(value, Cancelled):
            log.info(
                "Background job failed: %s", value, exc_info=value if isinstance(value, Exception) else None
            )
        callback(value)

    def shutdown(self, *, wait: bool = True) -> None:
        if self._own:
            self._executor.shutdown(wait=wait, cancel_futures=True)
