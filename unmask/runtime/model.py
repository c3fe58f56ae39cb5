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

from unmask.edges import DEFAULT_CANNY, EdgeGuide, canny_edges, guide_map
from unmask.runtime.session import CPU, CUDA, create_session
from unmask.spec import META_KEY, ModelMeta


class ModelError(ValueError):
    """A model file that cannot be used; the message names the file and the problem on one line."""


@dataclass
class Model:
    path: Path
    meta: ModelMeta
    session: Any
    providers: list[str]
    device: str = "auto"
    threads: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.meta.name or self.path.stem

    @property
    def size(self) -> int:
        return self.meta.size

    @property
    def takes_edges(self) -> bool:
        """Whether the model follows a user's edges (it has a ``guide`` input)."""
        return "guide" in self.meta.inputs

    def to_tensors(
        self, crops: list[np.ndarray], holes: list[np.ndarray], guides: list[EdgeGuide | None] | None = None
    ) -> dict[str, np.ndarray]:
        """The model's input feed for a batch of crops and holes (and the user's edges per crop, in crop pixels,
        for models that take them)."""
        lo, hi = self.meta.value_range
        x = np.stack(crops).astype(np.float32) / 255.0 * (hi - lo) + lo  # N,S,S,3
        m = (np.stack(holes) > 127).astype(np.float32)[..., None]  # N,S,S,1
        if self.meta.hole_fill == "zero":
            x = x * (1.0 - m)
        feed = {"image": np.ascontiguousarray(x.transpose(0, 3, 1, 2)), "mask": np.ascontiguousarray(m.transpose(0, 3, 1, 2))}
        if "edges" in self.meta.inputs:
            th = tuple(self.meta.options.get("canny", DEFAULT_CANNY))
            e = np.stack([canny_edges(c, h, th) for c, h in zip(crops, holes)])[:, None]
            feed["edges"] = e.astype(np.float32)
        if "guide" in self.meta.inputs:
            per = guides if guides is not None else [None] * len(crops)
            feed["guide"] = np.stack([guide_map(g, c.shape[:2]) for g, c in zip(per, crops)])[:, None]
        elif guides is not None and any(g is not None for g in guides):
            raise ModelError(f"{self.path}: model {self.name} cannot follow given edges (no 'guide' input)")
        return feed

    def from_tensor(self, y: np.ndarray) -> list[np.ndarray]:
        lo, hi = self.meta.value_range
        y = (y.transpose(0, 2, 3, 1) - lo) / (hi - lo) * 255.0
        return list(np.clip(y + 0.5, 0, 255).astype(np.uint8))

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
        except Exception as e:  # noqa: BLE001 - only a CUDA session gets a second chance
            if CUDA not in self.providers:
                raise
            self.warnings.append(f"CUDA failed ({str(e).splitlines()[0][:120]}); this batch ran on CPU")
            cpu, _ = create_session(self.path, "cpu", self.threads)
            (y,) = cpu.run([self.meta.output], feed)
        return self.from_tensor(y)


def read_meta(session: Any, path: Path) -> ModelMeta:
    props = session.get_modelmeta().custom_metadata_map
    if META_KEY not in props:
        raise ModelError(f"{path}: not an unmask model (ONNX metadata has no '{META_KEY}' entry)")
    try:
        meta = ModelMeta.from_json(props[META_KEY])
    except (ValueError, TypeError) as e:
        raise ModelError(f"{path}: unmask metadata is invalid ({e})") from None
    names = [i.name for i in session.get_inputs()]
    if list(meta.inputs) != names:
        raise ModelError(f"{path}: graph inputs {names} do not match metadata inputs {list(meta.inputs)}")
    outs = [o.name for o in session.get_outputs()]
    if meta.output not in outs:
        raise ModelError(f"{path}: graph has no output {meta.output!r}")
    return meta


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
    from unmask.runtime.session import DeviceError

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
