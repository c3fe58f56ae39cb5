"""The decode-ahead / encode-behind threads of the video path (unmask.infer.video.overlap)."""

from __future__ import annotations

import threading
import time

import pytest

from unmask.infer.video.overlap import DEPTH, Ahead, Behind


def test_ahead_yields_every_item_in_order_and_stays_bounded() -> None:
    made: list[int] = []

    def items():
        for i in range(50):
            made.append(i)
            yield i

    with Ahead(items()) as ahead:
        it = iter(ahead)
        assert next(it) == 0
        time.sleep(0.2)  # the thread runs ahead, but only as far as the queue holds
        assert len(made) <= DEPTH + 2
        assert [0, *it] == list(range(50))
    assert ahead.seconds >= 0


def test_ahead_raises_the_readers_error_in_the_caller() -> None:
    def items():
        yield 1
        raise ValueError("damaged frame")

    with Ahead(items()) as ahead, pytest.raises(ValueError, match="damaged frame"):
        list(ahead)


def test_leaving_ahead_early_stops_its_thread() -> None:
    with Ahead(iter(range(10_000))) as ahead:
        next(iter(ahead))
    assert not ahead._thread.is_alive()


def test_behind_consumes_in_order_and_finish_waits_for_the_last() -> None:
    done: list[int] = []
    with Behind(lambda i: (time.sleep(0.001), done.append(i))) as behind:
        for i in range(30):
            behind.put(i)
        behind.finish()
        assert done == list(range(30))


def test_behind_raises_the_writers_error_and_stops_on_the_callers() -> None:
    def consume(i: int) -> None:
        if i == 3:
            raise OSError("disk full")

    with Behind(consume) as behind, pytest.raises(OSError, match="disk full"):
        for i in range(100):
            behind.put(i)
        behind.finish()
    started = threading.Event()

    def slow(i: int) -> None:
        started.set()
        time.sleep(0.01)

    with pytest.raises(KeyboardInterrupt), Behind(slow) as behind:  # the caller's interruption: no waiting for the rest
        for i in range(DEPTH):
            behind.put(i)
        started.wait(1)
        raise KeyboardInterrupt
    assert not behind._thread.is_alive()
