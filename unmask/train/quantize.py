"""A float32 generator -> an int8 one (``unmask quantize``): static QDQ quantisation with ONNX Runtime, calibrated
on crops made exactly as inference makes them.

Calibration: clean photos of a folder (the last ``photos`` of it sorted by name, so that ``unmask eval``'s first
photos are not the ones calibrated on), each censored with one of the censor kinds the model was trained on for its
region in turn (:func:`calibration_kinds`)
(:func:`unmask.infer.censors.draw_censor`, ``numpy.random.default_rng(seed + i)``, then JPEG at
:data:`CALIBRATION_JPEG`, as eval does) and restored through :class:`unmask.infer.pipeline.Restorer` with flip
averaging: the faces are found, aligned and their censors found as in ``unmask PHOTO``, and the crops and holes
handed to the generator (each face and its mirror image) are what calibration sees, turned into tensors by the
model's own codec.

Quantisation: weights int8 per output channel (per tensor for the operators of :data:`PER_TENSOR`), activations
uint8 (the u8s8 kernels ONNX Runtime runs with AVX-512 VNNI on x86), activation ranges from a percentile of the
calibration values (:data:`CALIBRATION_METHODS`), QDQ format; the operator types of :data:`KEEP_FLOAT` stay float32.
Before quantisation, every ``ConvTranspose`` is rewritten into the ``Conv`` + ``DepthToSpace`` that computes the same
(:func:`unmask.train.subpixel.subpixel`): ONNX Runtime has no int8 ``ConvTranspose`` on the CPU, and the float one
was 37% of dmfn-eyes-int8's time. The output model has the input's metadata with
:attr:`unmask.spec.ModelMeta.quantization` filled in, is checked by loading it and
comparing its outputs with the float model's on the calibration crops (:attr:`QuantizeReport.psnr_vs_fp32`, inside
the holes), and is written atomically. Needs the ``onnx`` package (``unmask[train]``).
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unmask.codec import hole_of
from unmask.errors import UsageError
from unmask.infer.forward import Forwarded
from unmask.infer.runtime.model import Model, load_model
from unmask.spec import META_KEY, REGION_KINDS, ModelMeta, is_hole
from unmask.train.subpixel import CONV_TRANSPOSE, subpixel

CALIBRATION_PHOTOS = 64
"""Photos calibrated on by default (two crops each with flip averaging: 128 crops)."""

CALIBRATION_METHODS = ("percentile", "minmax")
"""How activation ranges are set from the calibration crops: ``percentile`` (99.999th, ONNX Runtime's default
percentile; the default) or ``minmax``. On dmfn-eyes's calibration crops the int8 output is 33.8 dB PSNR from the
float model in the holes with ``percentile`` and 31.7 dB with ``minmax`` (an outlier activation widens a minmax
range and costs every other value resolution)."""

CALIBRATION_JPEG = 90
"""JPEG quality of the censored calibration photos (``unmask eval``'s default)."""

KEEP_FLOAT: tuple[str, ...] = ()
"""Operator types left in float32 by default: none. Convolutions and the sub-pixel convolutions that replace
ConvTranspose quantise (naming ``ConvTranspose`` here keeps it, float32 and not rewritten; ONNX Runtime runs it in
float32 either way)."""

PER_TENSOR: tuple[str, ...] = ("MatMul",)
"""Operator types whose constant weights are quantised per tensor, not per output channel: ONNX Runtime's int8
MatMul takes no weights quantised per channel (the context encoder's bottleneck). Kept in float32 instead, that
MatMul was 7% of context-encoder-eyes-int8's time; per tensor its output moved by 0.03 dB PSNR in the calibration
holes (45.55 vs 45.52 dB from the float model)."""


class QuantizeError(UsageError):
    """The model cannot be quantised as asked (exit 2); the message is one line naming the file."""


@dataclass(frozen=True)
class QuantizeReport:
    """``path`` written; ``crops`` calibrated on (from ``photos`` photos with a face restored); ``psnr_vs_fp32``:
    PSNR of the int8 outputs against the float ones inside the holes of the calibration crops (dB, 8-bit);
    ``nodes``: QuantizeLinear nodes in the graph; ``kept_float``: operator types left in float32."""

    path: Path
    crops: int
    photos: int
    psnr_vs_fp32: float
    nodes: int
    kept_float: tuple[str, ...]
    meta: Any


class _Recorder:
    """An inpainter that keeps every feed the Restorer would give the model and returns the crops unchanged."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.name = model.name
        self.feeds: list[dict[str, np.ndarray]] = []

    size = Forwarded("model")

    @property
    def takes_edges(self) -> bool:
        return False

    def run(self, crops: list[np.ndarray], holes: list[np.ndarray]) -> list[np.ndarray]:
        for c, h in zip(crops, holes):
            self.feeds.append(self.model.to_tensors([c], [h]))
        return [np.array(c) for c in crops]


def calibration_photos(folder: str | Path, n: int) -> list[Path]:
    """The last ``n`` image files directly in ``folder``, sorted by name."""
    from unmask.infer.inputs import is_image_name

    folder = Path(folder)
    if not folder.is_dir():
        raise QuantizeError(f"{folder}: not a folder of calibration photos")
    photos = sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p.name))
    if not photos:
        raise QuantizeError(f"{folder}: no photos to calibrate on")
    return photos[-n:]


def calibration_kinds(meta: ModelMeta) -> tuple[str, ...]:
    """The censor kinds calibration draws: those of the model's region it was trained on (its training
    ``mask_mix``), else every kind of the region."""
    trained = (meta.training or {}).get("mask_mix") or {}
    return tuple(k for k in REGION_KINDS[meta.region] if k in trained) or REGION_KINDS[meta.region]


def calibration_feeds(
    model: Model, photos: Sequence[Path], seed: int = 0, on_photo: Callable[[int, int], None] | None = None
) -> tuple[list[dict[str, np.ndarray]], int]:
    """(one feed per crop, photos that gave crops): the generator inputs the photo path makes for ``photos``, each
    censored with the model's region's kinds in turn (see the module's docstring)."""
    from unmask.infer.censors import draw_censor, jpeg
    from unmask.infer.face.detect import FaceFinder
    from unmask.infer.face.photos import photo_faces
    from unmask.infer.pipeline import Restorer

    region = model.meta.region
    kinds = calibration_kinds(model.meta)
    rec = _Recorder(model)
    used = 0
    with FaceFinder() as finder, Restorer({region: rec}, region=region, flip_average=True) as restorer:  # type: ignore[dict-item]
        for i, (clean, faces) in enumerate(photo_faces(photos, finder)):
            if clean is None:
                continue  # unreadable: passed over, not counted
            if faces:
                before = len(rec.feeds)
                censored, _ = draw_censor(
                    clean, faces[0].landmarks, kinds[i % len(kinds)], np.random.default_rng(seed + i)
                )
                restorer.restore(jpeg(censored, CALIBRATION_JPEG))
                used += len(rec.feeds) > before
            if on_photo is not None:
                on_photo(i + 1, len(photos))
    return rec.feeds, used


class _Reader:
    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._it = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def quantize(
    source: str | Path,
    out: str | Path,
    folder: str | Path,
    photos: int = CALIBRATION_PHOTOS,
    keep_float: Sequence[str] | None = None,
    seed: int = 0,
    on_photo: Callable[[int, int], None] | None = None,
    method: str = CALIBRATION_METHODS[0],
) -> QuantizeReport:
    """Writes the int8 model of the float generator ``source`` to ``out``, calibrated on ``photos`` photos of
    ``folder`` (see the module's docstring); ``keep_float``: operator types left in float32 (None:
    :data:`KEEP_FLOAT`, those of them the model has); ``method``: one of :data:`CALIBRATION_METHODS`. Raises :class:`QuantizeError` (or
    :class:`unmask.infer.runtime.ModelError`) with one line; nothing is written then."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from unmask.infer.io.atomic import write_atomic

    source, out = Path(source), Path(out)
    if method not in CALIBRATION_METHODS:
        raise QuantizeError(f"unknown calibration method {method!r} (choose from {', '.join(CALIBRATION_METHODS)})")
    model = load_model(source, "cpu", 0)
    if model.meta.quantization:
        raise QuantizeError(
            f"{source}: already an int8 model (quantised from {model.meta.quantization.get('from', '?')})"
        )
    if out.resolve() == source.resolve():
        raise QuantizeError(f"{out}: the int8 model would overwrite its float model; choose another --output")
    if not out.parent.is_dir():
        raise QuantizeError(f"{out.parent}: output folder does not exist")
    graph = onnx.load(str(source))
    ops = sorted({n.op_type for n in graph.graph.node})
    keep_float = tuple(k for k in KEEP_FLOAT if k in ops) if keep_float is None else tuple(keep_float)
    unknown = [k for k in keep_float if k not in ops]
    if unknown:
        raise QuantizeError(f"{source}: the model has no {', '.join(unknown)} operators (it has {', '.join(ops)})")
    chosen = calibration_photos(folder, photos)
    feeds, used = calibration_feeds(model, chosen, seed, on_photo)
    if not feeds:
        raise QuantizeError(f"{folder}: no face restored in the {len(chosen)} calibration photos")
    rewritten = onnx.load(str(source))
    subpixels = 0 if CONV_TRANSPOSE in keep_float else subpixel(rewritten)
    ops = sorted({n.op_type for n in rewritten.graph.node})
    quantize_ops = [op for op in ops if op not in keep_float and op not in ("Constant",)]
    names = {i.name for i in rewritten.graph.initializer}
    per_tensor = {
        w: [{"quant_type": QuantType.QInt8}]
        for n in rewritten.graph.node
        if n.op_type in PER_TENSOR and n.op_type in quantize_ops
        for w in n.input
        if w in names
    }
    with tempfile.TemporaryDirectory(prefix="unmask-quantize-") as tmp:
        q_path, f_path = Path(tmp) / "int8.onnx", Path(tmp) / "float.onnx"
        onnx.save(rewritten, str(f_path))
        with contextlib.redirect_stdout(io.StringIO()):  # the percentile calibrator prints its progress
            quantize_static(
                str(f_path),
                str(q_path),
                _Reader(feeds),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=quantize_ops,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.Percentile if method == "percentile" else CalibrationMethod.MinMax,
                extra_options={"TensorQuantOverrides": per_tensor} if per_tensor else {},
            )
        q = onnx.load(str(q_path))
    meta = model.meta.with_(
        name=out.stem,
        version="",
        quantization={
            "format": "QDQ",
            "weights": "int8, per channel" + (f" ({', '.join(PER_TENSOR)}: per tensor)" if per_tensor else ""),
            "activations": "uint8",
            "calibration_method": method,
            "kept_float": list(keep_float),
            "subpixel_conv_transposes": subpixels,
            "from": model.name,
            "from_version": model.meta.version,
            "calibration": {
                "folder": Path(folder).name,
                "photos": used,
                "crops": len(feeds),
                "seed": seed,
                "censors": list(calibration_kinds(model.meta)),
                "jpeg": CALIBRATION_JPEG,
            },
        },
    )
    del q.metadata_props[:]
    for p in graph.metadata_props:
        if p.key != META_KEY:
            q.metadata_props.add(key=p.key, value=p.value)
    q.metadata_props.add(key=META_KEY, value=meta.to_json())
    data = q.SerializeToString()
    psnr = _fidelity(model, data, feeds)
    write_atomic(out, data)
    nodes = sum(n.op_type == "QuantizeLinear" for n in q.graph.node)
    return QuantizeReport(out, len(feeds), used, psnr, nodes, tuple(keep_float), meta)


def _fidelity(model: Model, data: bytes, feeds: list[dict[str, np.ndarray]]) -> float:
    """PSNR (dB, 8-bit) of the int8 model's outputs against the float model's, inside the holes of ``feeds``."""
    from unmask.infer.runtime.session import create_session

    session, _ = create_session(data, "cpu", 0)
    err = n = 0.0
    for feed in feeds:
        (a,) = model.session.run([model.meta.output], feed)
        (b,) = session.run([model.meta.output], feed)
        ya, yb = model.codec.decode(a).astype(np.float64), model.codec.decode(b).astype(np.float64)
        hole = is_hole(hole_of(feed["mask"]))[:, 0][..., None]
        err += float((((ya - yb) ** 2) * hole).sum())
        n += float(hole.sum()) * 3
    mse = err / max(n, 1.0)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))
