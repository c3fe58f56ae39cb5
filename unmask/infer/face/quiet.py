"""Keeping mediapipe's native log lines off the terminal: the library never prints, and mediapipe 0.10.21's C++
code writes to file descriptor 2 whatever Python asks."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def quiet_mediapipe() -> None:
    """Asks mediapipe's libraries (glog, TFLite) for errors only, unless the user set their own levels."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


_SILENCE_LOCK = threading.Lock()
_silenced: list[int] = []  # while silenced: the real stderr's saved descriptor (-1: none could be saved)
_depth = [0]  # how many are inside


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Sends file descriptor 2 to /dev/null while mediapipe's C++ code runs: its absl/TFLite log lines
    ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires ...") cannot be switched off
    otherwise in 0.10.21. Python-level errors are raised as exceptions and are not affected. Set
    UNMASK_NATIVE_LOGS=1 to see them. Safe to nest and to enter from several threads at once (a video's
    detection runs in its own): the first to enter silences, the last to leave restores."""
    if os.environ.get("UNMASK_NATIVE_LOGS") == "1":
        yield
        return
    with _SILENCE_LOCK:
        if _depth[0] == 0:
            try:
                sys.stderr.flush()
                saved = os.dup(2)
            except (OSError, ValueError):
                saved = -1
            if saved >= 0:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            _silenced[:] = [saved]
        _depth[0] += 1
    try:
        yield
    finally:
        with _SILENCE_LOCK:
            _depth[0] -= 1
            if _depth[0] == 0:
                saved = _silenced.pop()
                if saved >= 0:
                    os.dup2(saved, 2)
                    os.close(saved)
