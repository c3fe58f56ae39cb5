"""Conventions shared by training, export and inference, defined once.

Array conventions (everywhere in the library):

* images: ``HxWx3`` ``uint8`` RGB;
* masks: ``HxW`` ``uint8``, ``255`` = hole (pixels to synthesise), ``0`` = keep.

Model tensors (inside torch / ONNX) follow the arch's :class:`ArchSpec`: ``image`` is ``Nx3xSxS`` float in
``value_range``, ``mask`` is ``Nx1xSxS`` float with ``1`` = hole, and hole pixels of ``image`` are filled as
``hole_fill`` says. The spec is written into every exported ONNX file (key :data:`META_KEY`) and read back by the
runtime, so no size or range is repeated anywhere else.

This module must not import torch: the inference path uses it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

META_KEY = "unmask"
"""ONNX metadata_props key holding the JSON of :class:`ModelMeta`."""

META_FORMAT = 1
"""Version of the metadata layout; bumped when a field changes meaning."""

HOLE = 255
"""Value of a hole pixel in a uint8 mask."""


def is_hole(mask: np.ndarray) -> np.ndarray:
    """Which pixels of a uint8 mask (``HxW``, :data:`HOLE` = hole) are hole: those above half of :data:`HOLE`.
    The one test every reader of a mask (a hole, a user's mask, an edge map, a censor) uses, so a resampled or
    anti-aliased mask means the same everywhere. (numpy is imported here, not with the module: the CLI's
    choices come from this module and ``unmask --help`` stays instant.)"""
    import numpy as np

    return np.asarray(mask) > HOLE // 2


# -- the public choices: defined here once; the library checks against them and the CLI builds its options from them
REGIONS = ("eyes", "mouth")
"""Regions a model can be trained for and the pipeline can restore, in the order ``auto`` searches them."""

AUTO = "auto"
"""The region that asks the pipeline to find, per face, which of :data:`REGIONS` is hidden."""

RUN_REGIONS = (*REGIONS, AUTO)
"""Regions a restore can be asked for."""

MIX = "mix"
"""The training region that learns all of :data:`REGIONS` (each sample one of them)."""

TRAIN_REGIONS = (*REGIONS, MIX)
"""Regions a model can be trained on."""

KIND_REGION: Mapping[str, str | None] = {
    "bar": "eyes",
    "pixelate": "eyes",
    "surgical": "mouth",
    "blur": "eyes",
    "blur-mouth": "mouth",
    "freeform": None,
}
"""Censor kinds and the region each hides (``freeform``: random strokes anywhere, a training-only kind; a blur is
one kind per region, ``blur`` over the eyes and ``blur-mouth`` over nose and mouth, so each kind hides one region)."""

CENSOR_KINDS = tuple(KIND_REGION)
"""Every censor kind training can draw."""

REGION_KINDS: Mapping[str, tuple[str, ...]] = {r: tuple(k for k, v in KIND_REGION.items() if v == r) for r in REGIONS}
"""The censor kinds of each region, its commonest first (the default of ``unmask eval --censor``)."""

FACE_CENSORS = tuple(k for k, v in KIND_REGION.items() if v is not None)
"""The censor kinds people put on faces (what ``unmask eval`` can draw and the finders look for)."""

DEVICES = ("auto", "cpu", "cuda")
"""Where models run (ONNX Runtime) and train (PyTorch): ``auto`` takes CUDA when it really works there."""

VERSION = "0.1.0"
"""unmask's version: the package's (pyproject.toml reads it from here), the provenance tags' and the records'."""

MAX_FACES = 20
"""Default of the most faces restored per photo (largest first)."""

MIN_FACE = 24
"""Default of the smallest face side (pixels) searched for and restored."""

HOLE_FILLS = ("zero", "keep")
"""How hole pixels of the model input are filled: ``zero`` writes 0 (mid-grey in [-1, 1]); ``keep`` leaves the
censored pixels (e.g. the colours of a pixelated band) for the model to use."""


@dataclass(frozen=True)
class Preset:
    """A size of an architecture. ``size`` is the square crop side in pixels; ``width`` the base channel count;
    ``blocks`` the number of repeated middle blocks; ``extra`` arch-specific knobs."""

    size: int
    width: int
    blocks: int
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TensorCoding:
    """How a generator's tensors stand for pixels and holes (:mod:`unmask.codec`): ``value_range``, what 0..255 maps
    onto; ``mask_convention``, what the mask's 1 means; ``hole_fill``, one of :data:`HOLE_FILLS`. An arch declares
    it (:class:`ArchSpec`) and every model exported from it carries it (:class:`ModelMeta`); keywords only."""

    value_range: tuple[float, float] = (-1.0, 1.0)
    mask_convention: str = "1=hole"
    hole_fill: str = "zero"

    def coding(self) -> dict[str, Any]:
        """These three settings by name (what :func:`meta_from_spec` copies from an arch to its model)."""
        return {f.name: getattr(self, f.name) for f in fields(TensorCoding)}


@dataclass(frozen=True)
class ArchSpec(TensorCoding):
    """Everything about an architecture that is not its code. Declared once, in the arch's module."""

    name: str
    title: str
    paper: str
    presets: Mapping[str, Preset]
    loss_weights: Mapping[str, float]
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.9)
    d_lr: float | None = None
    pad_multiple: int = 4
    extra_inputs: tuple[str, ...] = ()
    runtime_options: Mapping[str, Any] = field(default_factory=dict)
    default_preset: str = "small"

    def preset(self, name: str | None = None) -> Preset:
        key = name or self.default_preset
        if key not in self.presets:
            raise KeyError(f"arch {self.name!r} has no preset {key!r} (choose from {', '.join(self.presets)})")
        return self.presets[key]


@dataclass(frozen=True)
class ModelMeta(TensorCoding):
    """What the runtime needs to know about an exported generator; stored as JSON in the ONNX metadata."""

    arch: str
    region: str
    size: int
    inputs: tuple[str, ...]
    output: str = "output"
    name: str = ""
    version: str = ""
    preset: str = ""
    format: int = META_FORMAT
    options: Mapping[str, Any] = field(default_factory=dict)
    """Arch-specific runtime settings (e.g. ``{"canny": [lo, hi]}`` for models with an ``edges`` input)."""
    training: Mapping[str, Any] = field(default_factory=dict)
    quantization: Mapping[str, Any] = field(default_factory=dict)
    """Empty for a float32 model; for an int8 one (``unmask quantize``, :mod:`unmask.train.quantize`): the format
    (``QDQ``), the weight and activation types, the operators left in float, the float model it was made from
    (``from``, ``from_version``) and its calibration (``calibration``: folder, photos, crops)."""

    @property
    def precision(self) -> str:
        """``int8`` for a quantised model, else ``fp32``."""
        return "int8" if self.quantization else "fp32"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelMeta":
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("metadata is not a JSON object")
        known = {f for f in cls.__dataclass_fields__}
        missing = {"arch", "region", "size", "value_range", "mask_convention", "hole_fill", "inputs"} - raw.keys()
        if missing:
            raise ValueError(f"metadata lacks {', '.join(sorted(missing))}")
        kw = {k: v for k, v in raw.items() if k in known}
        kw["value_range"] = tuple(float(v) for v in kw["value_range"])
        kw["inputs"] = tuple(kw["inputs"])
        kw["size"] = int(kw["size"])
        meta = cls(**kw)
        meta.validate()
        return meta

    def validate(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"unknown region {self.region!r}")
        if self.hole_fill not in HOLE_FILLS:
            raise ValueError(f"unknown hole_fill {self.hole_fill!r}")
        if self.mask_convention != "1=hole":
            raise ValueError(f"unsupported mask convention {self.mask_convention!r}")
        if self.size < 8:
            raise ValueError(f"size {self.size} too small")
        if self.inputs[:2] != ("image", "mask"):
            raise ValueError(f"inputs must start with image, mask (got {self.inputs})")

    def with_(self, **kw: Any) -> "ModelMeta":
        return replace(self, **kw)


def meta_from_spec(spec: ArchSpec, preset_name: str, region: str, **kw: Any) -> ModelMeta:
    """The runtime metadata of a generator built from ``spec`` at ``preset_name``, trained for ``region``."""
    preset = spec.preset(preset_name)
    fields = dict(
        arch=spec.name,
        region=region,
        size=preset.size,
        **spec.coding(),
        inputs=("image", "mask", *spec.extra_inputs),
        preset=preset_name,
        options=dict(spec.runtime_options),
    )
    fields.update(kw)
    meta = ModelMeta(**fields)
    meta.validate()
    return meta
