"""Training checkpoint -> ONNX generator with unmask metadata, checked against PyTorch before it is installed.

Only the generator is exported (``trainer.export_module()``), with ``torch.onnx.export(dynamo=False)`` at opset
17 and a dynamic batch axis. Inputs are named ``image``, ``mask`` and the arch's ``extra_inputs``; the output
``output``. The metadata entry :data:`unmask.spec.META_KEY` holds :class:`unmask.spec.ModelMeta` as JSON: the
arch's spec (:func:`unmask.spec.meta_from_spec`), the hole fill the model was trained with, and training facts
(steps, samples, wall time, data folder, validation metrics, torch version, dates).

Before the file is written (atomically, :func:`unmask.infer.io.write_atomic`), ``onnx.checker`` validates it and ONNX Runtime (CPU) runs it on
random inputs at a batch size other than the traced one; the largest absolute difference from PyTorch must stay
within ``tolerance`` (default 1e-3), or :class:`ExportError` is raised and nothing is written.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from unmask.codec import Codec
from unmask.edges import EdgeGuide
from unmask.infer.io.atomic import default_file_mode, write_atomic
from unmask.spec import HOLE, META_KEY, REGIONS, ArchSpec, ModelMeta, meta_from_spec
from unmask.train import checkpoint as ckpt_io
from unmask.errors import JobFailed

OPSET = 17
TOLERANCE = 1e-3
TRACE_BATCH, CHECK_BATCH = 2, 3


class ExportError(JobFailed, RuntimeError):
    """The model cannot be exported as asked; the message is one line."""


@dataclass(frozen=True)
class ExportReport:
    """``path`` written; ``meta`` stored in it; ``max_abs_diff`` of ONNX Runtime vs PyTorch; ``checkpoint`` read."""

    path: Path
    meta: ModelMeta
    max_abs_diff: float
    checkpoint: Path


def example_inputs(spec: ArchSpec, size: int, batch: int, hole_fill: str, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Generator inputs made by :mod:`unmask.codec` (as the runtime makes them) from random crops, a random box
    hole per sample and, for a ``guide`` input, random user edges on the odd samples (none on the even ones)."""
    rng = np.random.default_rng(seed)
    crops = list(rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8))
    holes, guides = [], []
    for i in range(batch):
        h, w = rng.integers(size // 8, size // 2 + 1, 2)
        y, x = rng.integers(0, size - max(h, w) + 1, 2)
        hole = np.zeros((size, size), np.uint8)
        hole[y : y + h, x : x + w] = HOLE
        holes.append(hole)
        lines = np.where(rng.random((size, size)) > 0.85, 255, 0).astype(np.uint8)
        guides.append(EdgeGuide(lines, np.full((size, size), 255, np.uint8)) if i % 2 else None)
    try:
        feed = Codec.of_spec(spec, hole_fill).encode(crops, holes, guides)
    except ValueError as e:
        raise ExportError(f"arch {spec.name!r}: {e}") from None
    return tuple(torch.from_numpy(feed[name]) for name in ("image", "mask", *spec.extra_inputs))


def _generator(ckpt: dict[str, Any], path: Path) -> tuple[nn.Module, ArchSpec, str, dict[str, Any]]:
    """(export module in eval mode, spec, preset name, training config dict) of a loaded checkpoint."""
    from unmask.train import archs

    if ckpt["arch"] not in archs.names():
        raise ckpt_io.CheckpointError(f"{path}: checkpoint of arch {ckpt['arch']!r}, which this unmask does not have")
    module = archs.get(ckpt["arch"])
    spec: ArchSpec = module.SPEC
    preset_name = str(ckpt["preset"])
    if preset_name not in spec.presets:
        raise ckpt_io.CheckpointError(f"{path}: arch {spec.name!r} has no preset {preset_name!r}")
    preset = spec.preset(preset_name)
    cfg = json.loads(ckpt["config"])
    weights = {k: float(v) for k, v in spec.loss_weights.items()}
    weights.update({k: float(v) for k, v in (cfg.get("weights") or {}).items() if k in weights})
    for key in getattr(module.Trainer, "feature_keys", ()):  # feature losses do not shape the generator
        weights[key] = 0.0
    G = module.build_generator(preset)
    ckpt_io.load_module_state(G, ckpt["G"], path, "generator")
    trainer = module.Trainer(spec, preset, G, module.build_discriminators(preset), weights, None)
    return trainer.export_module().eval(), spec, preset_name, cfg


def _training_facts(ckpt: dict[str, Any], cfg: dict[str, Any], hole_fill: str) -> dict[str, Any]:
    data = cfg.get("data")
    return {
        "steps": int(ckpt["step"]),
        "samples": int(ckpt.get("samples", 0)),
        "wall_minutes": round(float(ckpt.get("wall", 0.0)) / 60.0, 2),
        "data": "/".join(Path(data).parts[-2:]) if data else None,
        "region": cfg.get("region"),
        "mask_mix": cfg.get("mask_mix"),
        "batch_size": cfg.get("batch_size"),
        "world_size": int(ckpt.get("world_size", 1)),
        "seed": cfg.get("seed"),
        "lr": cfg.get("lr"),
        "init": cfg.get("init"),
        "weights": cfg.get("weights") or {},
        "val": {k: round(float(v), 5) for k, v in dict(ckpt.get("metrics", {})).items()},
        "hole_fill": hole_fill,
        "torch": str(ckpt.get("torch", torch.__version__)),
        "trained": ckpt.get("saved"),
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "exported_with_torch": str(torch.__version__),
        "run": cfg.get("name"),
    }


def export(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    name: str | None = None,
    region: str | None = None,
    runs: str | os.PathLike = "runs",
    opset: int = OPSET,
    tolerance: float = TOLERANCE,
) -> ExportReport:
    """Exports the generator of checkpoint ``source`` (a ``.pt`` file, a run folder or a run name under
    ``runs``) to ``out``. ``region`` defaults to the trained region (required for ``mix`` runs); ``name``
    defaults to ``out``'s stem. Raises :class:`unmask.train.checkpoint.CheckpointError` for a missing, corrupt
    or foreign file and :class:`ExportError` when the export fails its checks."""
    import onnx

    path = ckpt_io.resolve(source, runs)
    ckpt = ckpt_io.load(path)
    G, spec, preset_name, cfg = _generator(ckpt, path)
    trained = cfg.get("region", "eyes")
    if region is None:
        if trained not in REGIONS:
            raise ExportError(
                f"{path}: trained on region {trained!r}: pass the region to export for ({', '.join(REGIONS)})"
            )
        region = trained
    if region not in REGIONS:
        raise ExportError(f"region must be one of {', '.join(REGIONS)} (got {region!r})")
    if trained in REGIONS and region != trained:
        raise ExportError(f"{path}: trained for the {trained} region, not {region}")
    hole_fill = str(ckpt.get("hole_fill") or cfg.get("hole_fill") or spec.hole_fill)
    out = Path(out)
    meta = meta_from_spec(
        spec,
        preset_name,
        region,
        name=name or out.stem,
        hole_fill=hole_fill,
        training=_training_facts(ckpt, cfg, hole_fill),
    )
    size = spec.preset(preset_name).size
    input_names = list(meta.inputs)
    traced = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            G,
            example_inputs(spec, size, TRACE_BATCH, hole_fill, seed=0),
            traced,
            dynamo=False,
            opset_version=opset,
            input_names=input_names,
            output_names=[meta.output],
            dynamic_axes={n: {0: "batch"} for n in [*input_names, meta.output]},
        )
    model = onnx.load_from_string(traced.getvalue())
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, meta.to_json()
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise ExportError(f"exported graph fails onnx.checker ({str(e).splitlines()[0][:200]})") from None
    data = model.SerializeToString()
    diff = parity(G, data, spec, size, hole_fill)
    if not diff <= tolerance:
        raise ExportError(f"ONNX Runtime differs from PyTorch by {diff:.3g} (> {tolerance:g}); nothing written")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, data, default_file_mode())
    return ExportReport(path=out, meta=meta, max_abs_diff=diff, checkpoint=path)


def parity(G: nn.Module, onnx_model: Path | bytes, spec: ArchSpec, size: int, hole_fill: str, seed: int = 1) -> float:
    """Largest absolute difference between ``G`` (PyTorch, eval) and the ONNX model (a file or its bytes) run by ONNX Runtime on CPU,
    on random inputs at batch :data:`CHECK_BATCH` (so the dynamic batch axis is exercised too)."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    inputs = example_inputs(spec, size, CHECK_BATCH, hole_fill, seed=seed)
    with torch.no_grad():
        ref = G(*inputs).float().numpy()
    sess = ort.InferenceSession(
        onnx_model if isinstance(onnx_model, bytes) else str(onnx_model), providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in sess.get_inputs()]
    (got,) = sess.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
    if got.shape != ref.shape:
        raise ExportError(f"ONNX output shape {got.shape} differs from PyTorch's {ref.shape}")
    return float(np.max(np.abs(got - ref)))
