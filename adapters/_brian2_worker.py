"""Run a writer's calls on one background thread, in order, so the simulation does not wait for Parquet and fsync.

pyarrow releases the GIL while it sorts, encodes and writes, so on a machine with a spare core the trace is
written while Brian2 computes the next chunk. The queue is bounded: when the disk cannot keep up, the simulation
waits instead of buffering without limit. A failure in the thread is raised in the caller at its next call.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class Worker:
    """Call functions one after another on a daemon thread; ``depth`` calls may wait in the queue."""

    def __init__(self, name: str, depth: int = 4):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self.failed = False  # stays True: after a failure nothing more is written (rows would be out of order)
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queue ``function(*args, **kwargs)``; raise the error of an earlier call if one failed."""
        self.raise_error()
        self._queue.put((function, args, kwargs))

    def wait(self) -> None:
        """Block until every queued call has run; raise the error of a failed call."""
        self._queue.join()
        self.raise_error()

    def stop(self) -> None:
        """Run what is queued, then end the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def raise_error(self) -> None:
        """Raise (once) the exception of a call that failed on the thread."""
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                function, args, kwargs = item
                if not self.failed:
                    function(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the simulation thread
                self._error, self.failed = exc, True
            finally:
                self._queue.task_done()
