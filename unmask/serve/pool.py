"""Restorations a few at a time behind a bounded queue: :class:`Pool` runs ``workers`` threads, each with its own
:class:`unmask.serve.work.Worker` (face finder and models loaded once), taking tasks in order from a queue of at
most ``queue`` waiting. :meth:`Pool.submit` never blocks: with the queue full it raises :class:`Busy`, which the
app answers 503 with ``Retry-After``."""

from __future__ import annotations

import math
import queue
import threading
import time
from concurrent.futures import Future

from unmask.serve.settings import ServeSettings
from unmask.serve.work import Answer, Task, Worker
from unmask.errors import JobFailed


class Busy(JobFailed):
    """The queue is full; ``retry_after``: whole seconds after which a place is likely free."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is busy ({retry_after} s until a place is likely free)")
        self.retry_after = retry_after


class Pool:
    """``workers`` threads restoring tasks from a queue of at most ``queue`` waiting (``settings``)."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self._queue: queue.Queue[tuple[Future, Task] | None] = queue.Queue(maxsize=settings.queue)
        self._seconds = 1.0  # running mean of a task's seconds, for Retry-After
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, name=f"unmask-worker-{k}", daemon=True)
                         for k in range(settings.n_workers)]  # fmt: skip
        for t in self._threads:
            t.start()

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def submit(self, task: Task) -> Future:
        """A future of ``task``'s :class:`Answer`; :class:`Busy` at once when the queue is full."""
        fut: Future = Future()
        try:
            self._queue.put_nowait((fut, task))
        except queue.Full:
            ahead = self.settings.queue + len(self._threads)
            raise Busy(max(1, math.ceil(self._seconds * ahead / len(self._threads)))) from None
        return fut

    def close(self) -> None:
        """Stops the workers once the tasks already queued are done."""
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()

    def _loop(self) -> None:
        worker = Worker(self.settings)
        try:
            while (item := self._queue.get()) is not None:
                fut, task = item
                if not fut.set_running_or_notify_cancel():
                    continue
                t0 = time.perf_counter()
                try:
                    fut.set_result(worker.run(task))
                except BaseException as e:  # noqa: BLE001 - handed to the request, which answers it
                    fut.set_exception(e)
                with self._lock:
                    self._seconds = 0.8 * self._seconds + 0.2 * (time.perf_counter() - t0)
        finally:
            worker.close()


__all__ = ["Answer", "Busy", "Pool", "Task"]
