"""ONNX Runtime sessions: provider choice, thread settings, and an honest report of the providers obtained.

``device="auto"`` asks for CUDA when onnxruntime lists it and keeps it only if the created session really runs
on it (``session.get_providers()``); ``"cuda"`` fails clearly otherwise; ``"cpu"`` never tries CUDA. The noise
onnxruntime-gpu prints on machines without CUDA libraries is silenced.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from unmask.spec import DEVICES
from unmask.errors import UsageError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
SPIN = False
"""Whether onnxruntime's intra-op threads spin while they wait for work (its default): they do not. Spinning burns
CPU between and after the graph's parallel sections: dmfn-eyes-int8, batch 2, 2 threads, on the shared 2-core
machine: 77 ms of CPU a call spinning, 47 without (wall time no worse under load; issue 29)."""


class DeviceError(UsageError, RuntimeError):
    pass


def _ort() -> Any:
    import onnxruntime as ort

    ort.set_default_logger_severity(4)  # silence "CUDA not found" noise; our own errors say what matters
    return ort


def cuda_listed() -> bool:
    """Whether this onnxruntime build offers CUDA (it may still fail to load its libraries)."""
    return CUDA in _ort().get_available_providers()


def _preload_cuda_libraries(ort: Any) -> None:
    # onnxruntime-gpu >= 1.21 can load CUDA/cuDNN from the nvidia-* wheels of the `cuda` extra.
    import importlib.util

    preload = getattr(ort, "preload_dlls", None)
    if preload is not None and importlib.util.find_spec("nvidia") is not None:
        try:
            preload()
        except Exception:  # noqa: BLE001 - a missing library shows up as a CPU-only session below
            pass


def create_session(path: str | Path | bytes, device: str = "auto", threads: int = 0) -> tuple[Any, list[str]]:
    """An ``InferenceSession`` for ``path`` and the providers it really uses.

    ``threads``: intra-op threads (0 = onnxruntime's default, all cores). Raises :class:`DeviceError` when
    ``device="cuda"`` cannot be honoured.
    """
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r} (choose from {', '.join(DEVICES)})")
    ort = _ort()
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if SPIN else "0")
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    want_cuda = device in ("auto", "cuda") and CUDA in ort.get_available_providers()
    if device == "cuda" and not want_cuda:
        raise DeviceError(
            "CUDA requested but this onnxruntime build has no CUDAExecutionProvider (install unmask[cuda] with onnxruntime-gpu)"
        )
    providers: list[Any] = [CPU]
    if want_cuda:
        _preload_cuda_libraries(ort)
        providers = [(CUDA, {"device_id": int(os.environ.get("UNMASK_CUDA_DEVICE", "0"))}), CPU]
    src = path if isinstance(path, bytes) else str(path)
    session = ort.InferenceSession(src, sess_options=opts, providers=providers)
    got = list(session.get_providers())
    if device == "cuda" and CUDA not in got:
        raise DeviceError(
            "CUDA requested but the session could not use it (CUDA/cuDNN libraries missing or no GPU); use --device cpu or auto"
        )
    return session, got
