"""An executor that runs each job at once on the calling thread, so tests are deterministic."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from typing import Any


class InlineExecutor(Executor):
    """Runs each job at once on the calling thread; its result (or error) is in the future."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future
