"""Decoding and encoding beside the restoring: a reader thread runs ahead, a writer thread follows behind.

FFmpeg's decoders and encoders (through PyAV) do most of their work in C with Python's lock released, so on two
cores the next frame is decoded and the last one encoded while this one's faces are found and restored. Both
queues are short (:data:`DEPTH` items), so memory stays flat whatever the video's length. An error in either
thread is raised in the caller's, at its next call; stopping (an error of the caller's, Ctrl-C) ends both threads
without waiting for the rest of the file.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from unmask.infer.closing import Closing

T = TypeVar("T")

DEPTH = 4
"""Items a queue holds: frames decoded ahead, or restored frames waiting for the encoder."""

_END = object()
_POLL = 0.1  # seconds between looks at the stop flag while a queue is full or empty


class _Worker:
    """A daemon thread beside the caller's: the queue between them (``depth`` items), the stop flag, the error the
    thread hands over, and ``seconds``, the time the thread spent on its work. A subclass sets what its
    :meth:`_run` needs before calling ``__init__``, which starts the thread."""

    def __init__(self, depth: int, name: str) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def _halt(self) -> None:
        """Stops the thread (it looks at the flag every :data:`_POLL` seconds) and waits for it."""
        self._stop.set()
        self._thread.join()


class Ahead(_Worker, Closing, Generic[T]):
    """Iterates ``items`` in a thread, up to :data:`DEPTH` items ahead of the caller. ``seconds``: time the thread
    spent producing items (it overlaps the caller's work). Use as a context manager; leaving it stops the thread."""

    def __init__(self, items: Iterable[T], depth: int = DEPTH) -> None:
        self._items = iter(items)
        super().__init__(depth, "unmask-decode")

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                item = next(self._items, _END)
                self.seconds += time.perf_counter() - t0
                self._put(item)
                if item is _END:
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            self._error = e
            self._put(_END)

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def close(self) -> None:
        self._halt()


class Behind(_Worker, Generic[T]):
    """Calls ``consume(item)`` in a thread for every item :meth:`put`, in order, at most :data:`DEPTH` items behind
    the caller. ``seconds``: time spent in ``consume``. :meth:`finish` waits for the last item and raises the
    thread's error, if any (so does the next :meth:`put` after one); leaving the context on an error stops the
    thread without consuming the rest."""

    def __init__(self, consume: Callable[[T], None], depth: int = DEPTH) -> None:
        self._consume = consume
        super().__init__(depth, "unmask-encode")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if item is _END:
                return
            try:
                t0 = time.perf_counter()
                self._consume(item)
                self.seconds += time.perf_counter() - t0
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                self._error = e
                return

    def put(self, item: T) -> None:
        while True:
            if self._error is not None:
                raise self._error
            if not self._thread.is_alive():
                raise RuntimeError("the writer thread has stopped")
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Waits until every item is consumed; raises the thread's error."""
        if self._thread.is_alive():
            self.put(_END)  # type: ignore[arg-type]
            self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> Behind[T]:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._halt()
