"""Resident memory of this process, sampled while something runs, and the machine's load.

Used by the folder run (:mod:`unmask.measure.folder`), the memory probe (:mod:`unmask.measure.probe`) and the video
benchmark (:mod:`unmask.measure.video_bench`). Never prints.
"""

from __future__ import annotations

import os
import sys
import threading

MIB = 1024 * 1024


def current_rss() -> int:
    """Resident set size of this process in bytes (``/proc/self/statm``; elsewhere the peak so far, or 0)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return _ru_maxrss()


def peak_rss() -> int:
    """Peak resident set size of this process image, in bytes: ``VmHWM`` of ``/proc/self/status`` where it
    exists, else ``getrusage``'s ``ru_maxrss`` (0 where neither exists). ``ru_maxrss`` survives ``exec``: a
    process spawned by a big parent starts with the parent's peak, so it cannot measure a fresh process alone."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _ru_maxrss()


def _ru_maxrss() -> int:
    try:
        import resource
    except ImportError:  # Windows
        return 0
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r) if sys.platform == "darwin" else int(r) * 1024


class RssSampler:
    """Samples :func:`current_rss` every ``interval`` seconds in a daemon thread while in its ``with`` block;
    :attr:`peak` is the largest value seen (bytes), :attr:`start` the first."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.start = current_rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, current_rss())

    def __enter__(self) -> "RssSampler":
        self.start = current_rss()
        self.peak = self.start
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss())


def load_average() -> tuple[float, float, float] | None:
    """``os.getloadavg()`` where the platform has it."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None
