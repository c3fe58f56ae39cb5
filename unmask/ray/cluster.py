"""Ray itself: :func:`require_ray` (one line naming the extra when it is missing) and :func:`connect` (``local``
starts a cluster on this machine, an address joins a running one)."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from types import ModuleType

from unmask.ray.settings import LOCAL_OBJECT_STORE_BYTES
from unmask.errors import UsageError

LOCAL = "local"
"""``--ray local``: start a cluster of this machine only (and stop it at the end)."""

LOCAL_IP = "127.0.0.1"
"""A local cluster listens on the loopback interface only."""

INSTALL = "pip install 'unmask[ray]'"


REACH_S = 10.0
"""Seconds to wait for a ``HOST:PORT`` address to answer before saying it cannot be reached (Ray itself waits
minutes)."""


class RayMissing(ImportError):
    """Ray (or Ray Data's pyarrow) is not installed; the message is one line saying what to install."""


class ClusterError(UsageError, RuntimeError):
    """The cluster could not be started or joined, or cannot run what was asked (one line; exit 2)."""


def require_ray() -> ModuleType:
    """``ray`` with Ray Data, or :class:`RayMissing` saying which extra to install."""
    try:
        import ray
        import ray.data
    except ImportError as e:
        what = (getattr(e, "name", None) or "ray").split(".")[0]
        raise RayMissing(f"--ray needs Ray Data (the Python module {what!r} is not installed): {INSTALL}") from None
    return ray


@contextlib.contextmanager
def connect(address: str, cpus: int | None = None) -> Iterator[ModuleType]:
    """Ray, connected for the block: ``address`` ``local`` starts a cluster of this machine (``cpus`` CPUs, all
    when ``None``; on :data:`LOCAL_IP`, a small object store, no dashboard) and stops it after; any other address (``auto``,
    ``HOST:6379``) joins a running cluster and only disconnects. Already connected (a
    pipeline that called ``ray.init`` itself): used as it is. Ray's own log lines below errors are kept off the
    terminal."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    check_address(address)
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "configure_logging": True}
    try:
        if address == LOCAL:
            ray.init(num_cpus=cpus, object_store_memory=LOCAL_OBJECT_STORE_BYTES, include_dashboard=False,
                     _node_ip_address=LOCAL_IP, **quiet)  # fmt: skip
        else:
            ray.init(address=address, **quiet)
    except Exception as e:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
        where = "start a local Ray cluster" if address == LOCAL else f"join the Ray cluster at {address}"
        raise ClusterError(f"cannot {where}: {' '.join(str(e).split()) or type(e).__name__}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def check_address(address: str) -> None:
    """:class:`ClusterError` when ``address`` is ``HOST:PORT`` and nothing answers there within :data:`REACH_S`
    (``local``, ``auto`` and other forms are left to Ray)."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_S).close()
    except OSError as e:
        raise ClusterError(
            f"cannot join the Ray cluster at {address}: {e.strerror or e} "
            "(is `ray start --head` running there, and the port open?)"
        ) from None
