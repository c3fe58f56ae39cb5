"""A loaded generator: ONNX session + the metadata written at export (:class:`unmask.spec.ModelMeta`).

``Model.run`` takes aligned crops and holes in the library's conventions (SxSx3 uint8 RGB, SxS uint8 with
255 = hole) and converts them to the model's tensors as its metadata says: value range, hole fill, mask
convention, extra inputs. Nothing about a model's numbers is assumed here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unmask.codec import CHANNELS, Codec
from unmask.edges import EdgeGuide
from unmask.infer.forward import Forwarded
from unmask.infer.runtime.session import CPU, CUDA, create_session
from unmask.errors import ModelError
from unmask.spec import META_KEY, ModelMeta


MAX_SIZE = 4096
"""Largest crop side a model's metadata may declare (the shipped models use 128-256)."""


@dataclass
class Model:
    path: Path
    meta: ModelMeta
    session: Any
    providers: list[str]
    device: str = "auto"
    threads: int = 0
    warnings: list[str] = field(default_factory=list)
    size = Forwarded("meta", "Crop side the model takes, as its metadata says.")

    @property
    def name(self) -> str:
        return self.meta.name or self.path.stem

    @property
    def takes_edges(self) -> bool:
        """Whether the model follows a user's edges (it has a ``guide`` input)."""
        return "guide" in self.meta.inputs

    @property
    def codec(self) -> Codec:
        """The conversions of crops and holes to this model's tensors and back, as its metadata says."""
        return Codec.of_meta(self.meta)

    def to_tensors(
        self, crops: list[np.ndarray], holes: list[np.ndarray], guides: list[EdgeGuide | None] | None = None
    ) -> dict[str, np.ndarray]:
        """The model's input feed for a batch of crops and holes (and the user's edges per crop, in crop pixels,
        for models that take them): :meth:`unmask.codec.Codec.encode`."""
        if not self.takes_edges and guides is not None and any(g is not None for g in guides):
            raise ModelError(f"{self.path}: model {self.name} cannot follow given edges (no 'guide' input)")
        return self.codec.encode(crops, holes, guides if self.takes_edges else None)

    def from_tensor(self, y: np.ndarray, n: int | None = None) -> list[np.ndarray]:
        """Crops (SxSx3 uint8) of the model's output ``y`` (Nx3xSxS in ``value_range``). Raises :class:`ModelError`
        when ``y`` is not ``n`` x 3 x S x S or holds NaN or infinity (a broken generator: nothing of it is used)."""
        y = np.asarray(y)
        s = self.meta.size
        if y.ndim != 4 or y.shape[1:] != (3, s, s) or (n is not None and y.shape[0] != n):
            want = f"{n if n is not None else 'N'}x3x{s}x{s}"
            raise ModelError(
                f"{self.path}: model {self.name} returned an output of shape {'x'.join(map(str, y.shape))}, not {want}"
            )
        finite = np.isfinite(y).reshape(y.shape[0], -1).all(axis=1)
        if not finite.all():
            bad = ", ".join(str(i + 1) for i in np.flatnonzero(~finite))
            raise ModelError(
                f"{self.path}: model {self.name} produced non-finite values (NaN or infinity) for face(s) {bad} "
                f"of {y.shape[0]}; nothing of its output is used"
            )
        return list(self.codec.decode(y))

    def run(
        self, crops: list[np.ndarray], holes: list[np.ndarray], guides: list[EdgeGuide | None] | None = None
    ) -> list[np.ndarray]:
        """Completed crops (SxSx3 uint8) for aligned ``crops`` and ``holes``, one batch; ``guides``: a user's
        edges per crop (see :attr:`takes_edges`). A CUDA failure (out of memory, provider error) falls back to
        CPU for this call and is recorded in :attr:`warnings`."""
        if not crops:
            return []
        feed = self.to_tensors(crops, holes, guides)
        try:
            (y,) = self.session.run([self.meta.output], feed)
        except Exception as e:
            if CUDA not in self.providers:
                raise
            self.warnings.append(f"CUDA failed ({str(e).splitlines()[0][:120]}); this batch ran on CPU")
            cpu, _ = create_session(self.path, "cpu", self.threads)
            (y,) = cpu.run([self.meta.output], feed)
        return self.from_tensor(y, len(crops))


def read_meta(session: Any, path: Path) -> ModelMeta:
    props = session.get_modelmeta().custom_metadata_map
    if META_KEY not in props:
        raise ModelError(f"{path}: not an unmask model (ONNX metadata has no '{META_KEY}' entry)")
    try:
        meta = ModelMeta.from_json(props[META_KEY])
    except (ValueError, TypeError, OverflowError) as e:
        raise ModelError(f"{path}: unmask metadata is invalid ({e})") from None
    names = [i.name for i in session.get_inputs()]
    if list(meta.inputs) != names:
        raise ModelError(f"{path}: graph inputs {names} do not match metadata inputs {list(meta.inputs)}")
    outs = [o.name for o in session.get_outputs()]
    if meta.output not in outs:
        raise ModelError(f"{path}: graph has no output {meta.output!r}")
    check_graph(session, meta, path)
    return meta


def check_graph(session: Any, meta: ModelMeta, path: Path) -> None:
    """The graph must take and give what the metadata says: every input one the runtime feeds, as float tensors of
    N x C x S x S (C from :data:`CHANNELS`, S = ``meta.size``), the output N x 3 x S x S; the size within
    8..:data:`MAX_SIZE` and the value range finite. Symbolic dimensions pass. Raises :class:`ModelError`."""
    size = meta.size
    if not 8 <= size <= MAX_SIZE:
        raise ModelError(f"{path}: metadata size {_short(size)} is out of range (8 to {MAX_SIZE} pixels)")
    lo, hi = meta.value_range
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ModelError(f"{path}: metadata value_range {meta.value_range} is not a finite range low < high")
    for arg in session.get_inputs():
        if arg.name not in CHANNELS:
            raise ModelError(f"{path}: graph input {arg.name!r} is not one unmask can feed ({', '.join(CHANNELS)})")
        _check_arg(path, f"input {arg.name!r}", arg, CHANNELS[arg.name], size)
    (out,) = [o for o in session.get_outputs() if o.name == meta.output]
    _check_arg(path, f"output {out.name!r}", out, 3, size)


def _short(v: int) -> str:
    return str(v) if abs(v) < 10**12 else f"{float(v):.3g}"


def _check_arg(path: Path, what: str, arg: Any, channels: int, size: int) -> None:
    if getattr(arg, "type", "tensor(float)") != "tensor(float)":
        raise ModelError(f"{path}: graph {what} is {arg.type}, not tensor(float)")
    shape = list(arg.shape) if arg.shape is not None else []
    want = f"N x {channels} x {size} x {size}"
    if len(shape) != 4:
        raise ModelError(f"{path}: graph {what} has {len(shape)} dimensions, the metadata means {want}")
    got = " x ".join(str(d) if isinstance(d, int) else "?" for d in shape)
    for dim, expected in zip(shape[1:], (channels, size, size)):
        if isinstance(dim, int) and dim > 0 and dim != expected:
            raise ModelError(f"{path}: graph {what} is {got}, but the metadata means {want}")


def load_model(path: str | Path, device: str = "auto", threads: int = 0) -> Model:
    """Loads an unmask ONNX generator. Raises :class:`ModelError` (one line naming the file) when it is
    missing, unreadable, not ONNX, truncated, or lacks unmask metadata."""
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: model file not found")
    if p.is_dir():
        raise ModelError(f"{p}: is a directory, not a model file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ModelError(f"{p}: cannot read model ({e.strerror or e})") from None
    if not data:
        raise ModelError(f"{p}: model file is empty")
    from unmask.infer.runtime.session import DeviceError

    try:
        session, providers = create_session(data, device, threads)
    except DeviceError:
        raise
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{p}: not a valid ONNX model ({first[:200]})") from None
    meta = read_meta(session, p)
    if not meta.version:
        meta = meta.with_(version=hashlib.sha256(data).hexdigest()[:12])
    return Model(path=p, meta=meta, session=session, providers=providers, device=device, threads=threads)


def describe_providers(providers: list[str]) -> str:
    return "CUDA" if CUDA in providers else ("CPU" if CPU in providers else ",".join(providers))
