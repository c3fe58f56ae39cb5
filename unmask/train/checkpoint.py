"""Training checkpoints: written atomically, loaded with ``torch.load(weights_only=True)`` only.

A checkpoint is a dict of plain types and tensors (so the safe unpickler reads it):

* ``format`` (int), ``kind`` (``"unmask-train"``), ``arch``, ``preset``, ``config`` (JSON of the
  :class:`~unmask.train.config.TrainConfig`);
* ``G``, ``D``: state dicts of the generator and the discriminators (``nn.ModuleDict``);
* ``opt_g``, ``opt_d``, ``scaler``: optimiser and ``GradScaler`` state dicts (``opt_d`` empty when no D);
* ``step``, ``samples`` (seen over all ranks), ``wall`` (seconds of training so far), ``epoch`` and ``position``
  (batches consumed of that epoch, per rank) and ``world_size``: where the data sampler stands;
* ``rng``: one entry per rank, see :func:`capture_rng`;
* ``metrics``: the last validation numbers; ``torch``: the torch version that wrote it.

A run keeps ``RUN/checkpoints/last.pt``; see :func:`resolve`.

A *slim* checkpoint (:func:`write_slim`, ``unmask export RUN --checkpoint OUT.pt [--fp16]``) keeps what continuing
or fine-tuning needs on another machine: ``G`` and ``D`` (optionally float16), the settings and the training facts
(``step``, ``samples``, ``wall``, ``metrics``, ``hole_fill``, ``torch``, ``saved``), with ``slim: True`` and
``dtype``; no optimiser, scaler or RNG state, so it is about a third of a full checkpoint (a sixth in float16). It
loads with :func:`load` like any other: ``unmask train --init OUT.pt`` warm-starts from it and ``unmask export
OUT.pt`` exports it; only ``--resume`` needs a full one (:func:`is_slim`).
"""

from __future__ import annotations

import errno
import io
import os
import pickle
import random
import re
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from unmask.errors import InputError

FORMAT = 1
KIND = "unmask-train"
LAST = "last.pt"
_REQUIRED = ("format", "kind", "arch", "preset", "config", "G", "D", "step")


class CheckpointError(InputError, RuntimeError):
    """A checkpoint cannot be used; the message is one line and names the file."""


class CheckpointWriteError(CheckpointError, OSError):
    """A checkpoint could not be written (a full disk): one line naming the file and the reason; also an ``OSError``,
    as every failed write of the library is (tests/test_writers.py)."""


# -- RNG state as tensors and plain types ---------------------------------------------------------------------
def capture_rng() -> dict[str, Any]:
    """The RNG states of torch (CPU and CUDA), numpy's global generator and Python's ``random``."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, pystate, pygauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": torch.from_numpy(np.asarray(keys, dtype=np.int64).copy()),
        "numpy_pos": int(pos),
        "numpy_has_gauss": int(has_gauss),
        "numpy_gauss": float(gauss),
        "python": torch.tensor(pystate, dtype=torch.int64),
        "python_version": int(version),
        "python_gauss": pygauss,
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: Mapping[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(
        (
            "MT19937",
            state["numpy"].numpy().astype(np.uint32),
            int(state["numpy_pos"]),
            int(state["numpy_has_gauss"]),
            float(state["numpy_gauss"]),
        )
    )
    pystate = tuple(int(v) for v in state["python"].tolist())
    random.setstate((int(state["python_version"]), pystate, state["python_gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda = list(state["cuda"])
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


# -- writing ---------------------------------------------------------------------------------------------------
class _Remembering(io.RawIOBase):
    """The file ``torch.save`` writes to, keeping the first ``OSError`` its writes raised: torch turns it into a
    ``RuntimeError`` that says nothing of the disk (``[enforce fail at inline_container.cc] . unexpected pos``)."""

    def __init__(self, f: Any) -> None:
        super().__init__()
        self.f, self.error = f, None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        try:
            return self.f.write(data)
        except OSError as e:
            self.error = self.error or e
            raise


def _write_reason(e: OSError) -> str:
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "no space left on device"
    return " ".join(str(e.strerror or e).split())


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to ``path`` through :func:`unmask.infer.io.atomic_file`: a crash at any moment leaves either the
    old file or the new one, never a torn one (stale temporary files: :func:`unmask.infer.io.remove_stale_temps`).
    A write that fails (a full disk) is a :class:`CheckpointError` of one line naming ``path`` and the reason (``no
    space left on device``); the file there before is kept."""
    from unmask.infer.io.atomic import atomic_file

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as f:
            out = _Remembering(f)
            try:
                torch.save(obj, out)
            except RuntimeError:
                if out.error is None:
                    raise
                raise out.error from None
    except OSError as e:
        kept = "; the previous checkpoint there is kept" if path.exists() else ""
        raise CheckpointWriteError(f"{path}: cannot save the checkpoint: {_write_reason(e)}{kept}") from None
    return path


# -- reading ---------------------------------------------------------------------------------------------------
def resolve(source: str | os.PathLike, runs: str | os.PathLike = "runs") -> Path:
    """The checkpoint file meant by ``source``: a file, a run folder (its ``checkpoints/last.pt``), or the name of
    a run under ``runs``. Raises :class:`CheckpointError` when none exists."""
    p = Path(source)
    candidates = [p] if p.suffix == ".pt" or p.is_file() else []
    for folder in (p, Path(runs) / p):
        candidates += [folder / "checkpoints" / LAST, folder / LAST]
    for c in candidates:
        if c.is_file():
            return c
    raise CheckpointError(f"{source}: no checkpoint (looked for a .pt file, RUN/checkpoints/{LAST}, {runs}/RUN)")


def load(path: str | os.PathLike, arch: str | None = None) -> dict[str, Any]:
    """Reads a checkpoint written by :func:`save_atomic` (tensors on CPU) and checks its layout; with ``arch``,
    also that it belongs to that architecture."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive
        raise CheckpointError(
            f"{path}: not an unmask checkpoint (not a complete torch.save archive: truncated, or another kind of file)"
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError, OSError) as e:
        raise CheckpointError(f"{path}: not a readable unmask checkpoint ({_reason(e)})") from None
    if not isinstance(ckpt, dict) or ckpt.get("kind") != KIND:
        raise CheckpointError(f"{path}: not an unmask training checkpoint")
    missing = [k for k in _REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    if int(ckpt["format"]) > FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {ckpt['format']} is newer than this unmask reads ({FORMAT})")
    if arch is not None and ckpt["arch"] != arch:
        raise CheckpointError(f"{path}: checkpoint of arch {ckpt['arch']!r}, not {arch!r}")
    return ckpt


_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


def _reason(e: BaseException) -> str:
    """The informative part of a ``torch.load`` error, shortened. A file the safe unpickler refuses (it holds
    pickled Python objects, which could run code) gets our own words: PyTorch's message advises loading it unsafely,
    which unmask never does and must not suggest."""
    text = str(e)
    if isinstance(e, pickle.UnpicklingError) or "Weights only load failed" in text or "Unpickler error" in text:
        found = _GLOBAL.search(text)
        what = f" ({found.group(1)})" if found else ""
        return (f"refused: it holds pickled Python objects{what}, not only tensors and plain values; unmask loads "
                "checkpoints safely and never runs code from a file")  # fmt: skip
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[0] if lines else type(e).__name__)[:200]


def load_module_state(module: torch.nn.Module, state: Mapping[str, Any], path: str | os.PathLike, what: str) -> None:
    """``module.load_state_dict(state)`` with a one-line :class:`CheckpointError` on a shape or key mismatch."""
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        detail = " ".join(str(e).split())[:240]
        raise CheckpointError(f"{path}: {what} weights do not fit this arch/preset ({detail})") from None


def load_discriminators(D: torch.nn.ModuleDict, state: Mapping[str, Any], path: str | os.PathLike) -> list[str]:
    """Warm start of the discriminators ``D`` (a ModuleDict) from another run's ``state``, one discriminator at a
    time: each one the state holds is loaded whole (a mismatch is a :class:`CheckpointError`), one it does not hold
    starts fresh, and one of the state that ``D`` has not (a discriminator the new run's losses do not read) is
    left out. Returns the names that start fresh."""
    fresh = []
    for name, module in D.items():
        sub = {k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(name + ".")}
        if not sub:
            fresh.append(name)
            continue
        load_module_state(module, sub, path, f"discriminator {name!r}")
    return fresh


# -- slim checkpoints --------------------------------------------------------------------------------------------
SLIM_KEYS = ("format", "kind", "arch", "preset", "config", "step", "samples", "wall", "world_size", "metrics",
             "hole_fill", "torch", "saved")  # fmt: skip
"""What a slim checkpoint keeps besides ``G`` and ``D``."""


def is_slim(ckpt: Mapping[str, Any]) -> bool:
    """Whether a loaded checkpoint is slim (weights only: it can warm-start or export a model, not resume a run)."""
    return bool(ckpt.get("slim"))


def _weights(state: Mapping[str, Any], fp16: bool) -> dict[str, Any]:
    """A state dict with each tensor in its own storage (so torch.save writes no more than it); with ``fp16``,
    floating tensors as float16 unless that would overflow them (such a tensor stays float32)."""
    out: dict[str, Any] = {}
    for k, v in state.items():
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu()
            if fp16 and v.is_floating_point() and v.dtype != torch.float16:
                h = v.to(torch.float16)
                v = h if bool(torch.isfinite(h).all()) or not bool(torch.isfinite(v).all()) else v
            v = v.contiguous().clone()
        out[k] = v
    return out


def slim(ckpt: Mapping[str, Any], fp16: bool = False) -> dict[str, Any]:
    """The slim form of a loaded checkpoint (see the module doc)."""
    out = {k: ckpt[k] for k in SLIM_KEYS if k in ckpt}
    out.update(slim=True, dtype="float16" if fp16 else "float32", G=_weights(ckpt["G"], fp16),
               D=_weights(ckpt["D"], fp16))  # fmt: skip
    return out


def write_slim(
    source: str | os.PathLike, out: str | os.PathLike, *, fp16: bool = False, runs: str | os.PathLike = "runs"
) -> tuple[Path, dict[str, Any]]:
    """Writes the slim form of checkpoint ``source`` (a file, run folder or run name under ``runs``) to ``out``,
    atomically. Returns the checkpoint read and the slim one written. Raises :class:`CheckpointError`."""
    path = resolve(source, runs)
    ckpt = load(path)
    out = Path(out)
    if out.exists() and out.resolve() == path.resolve():
        raise CheckpointError(f"{out}: is the checkpoint being slimmed; write the slim one to another file")
    s = slim(ckpt, fp16)
    save_atomic(s, out)  # CheckpointError naming out when it cannot be written
    return path, s
