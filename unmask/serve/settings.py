"""What ``unmask serve`` is started with (:class:`ServeSettings`) and its defaults, each defined once here: the CLI
builds its options from these numbers."""

from __future__ import annotations

import os
from dataclasses import dataclass

from unmask.infer.io.read import DEFAULT_MAX_PIXELS

DEFAULT_HOST = "127.0.0.1"
"""Only this machine can reach the server unless another host is given (the CLI warns then)."""
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Hosts that keep the server to this machine (any other: anyone on that network can use it)."""
DEFAULT_PORT = 8000
DEFAULT_MAX_UPLOAD_MB = 50
"""Largest request body accepted, in MB (10^6 bytes): a photo and its optional mask; larger is answered 413."""
DEFAULT_QUEUE = 8
"""Requests waiting for a worker at most; one more is answered 503 with Retry-After."""
FORM_SLACK = 1_000_000
"""Bytes allowed beyond the upload limit for the multipart framing and the small form fields."""


def default_workers(cores: int | None = None) -> int:
    """One worker per two cores, at least one (``cores``: the machine's when None)."""
    return max(1, (cores if cores is not None else os.cpu_count() or 1) // 2)


@dataclass(frozen=True)
class ServeSettings:
    """``device``: ``auto``, ``cpu`` or ``cuda`` (:data:`unmask.spec.DEVICES`); ``threads``: ONNX Runtime threads per
    worker (0: the cores shared among the workers); ``model``: a name or file the server adds to the installed
    models a client may choose (and the default of its region); ``workers``: restorations run at once, each worker
    with its own face finder and models loaded once; ``queue``: requests waiting at most."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    device: str = "auto"
    threads: int = 0
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    max_pixels: int = DEFAULT_MAX_PIXELS
    model: str | None = None
    workers: int = 0  # 0: default_workers()
    queue: int = DEFAULT_QUEUE

    def __post_init__(self) -> None:
        if self.queue < 1 or self.workers < 0 or self.threads < 0 or self.max_upload_mb <= 0 or self.max_pixels < 1:
            raise ValueError(
                "queue and max_pixels must be at least 1, max_upload_mb above 0, workers and threads 0 or more"
            )

    @property
    def n_workers(self) -> int:
        return self.workers or default_workers()

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)

    @property
    def worker_threads(self) -> int:
        """ONNX Runtime threads per worker: ``threads``, or the cores shared among the workers."""
        return self.threads or max(1, (os.cpu_count() or 1) // self.n_workers)

    @property
    def local(self) -> bool:
        return self.host in LOCAL_HOSTS
