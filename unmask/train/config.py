"""Training settings: one dataclass, read from defaults, a JSON/TOML file and command-line overrides, in that
order. Torch-free, so the CLI can build and check settings before importing torch.

Defaults that belong to an architecture (preset, learning rates, betas, loss weights, hole fill) are *not*
copied here: a ``None`` field means "the arch's ``SPEC`` value", resolved by :func:`resolved`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from unmask.spec import CENSOR_KINDS, DEVICES, HOLE_FILLS, KIND_REGION, MIX, REGIONS, TRAIN_REGIONS, ArchSpec
from unmask.errors import UsageError

DEFAULT_MASK_MIX: Mapping[str, Mapping[str, float]] = {
    "eyes": {"bar": 0.45, "pixelate": 0.25, "blur": 0.15, "freeform": 0.15},
    "mouth": {"surgical": 0.7, "blur-mouth": 0.15, "freeform": 0.15},
}
"""Censor kinds sampled per region when ``--mask-mix`` is not given: mostly what the model will meet (a blur is
given as it is, ``hole_fill keep``, as a mosaic is)."""

ENV_DATA = "UNMASK_DATA"
ENV_VAL = "UNMASK_VAL"


class ConfigError(UsageError):
    """A setting is missing, unknown or out of range; the message names it."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on. Stored (as JSON) in every checkpoint and in ``RUN/config.json``.

    ``data`` and ``val`` are each a training set written by ``unmask prepare`` (read as it is, no mediapipe) or a
    folder of photos (cropped once into the crop cache, with mediapipe). ``None`` means: the arch's default
    (``preset``, ``lr``, ``d_lr``, ``hole_fill``), the shared data folder (``data``, ``val``), or "no limit"
    (``max_steps``, ``max_minutes``). ``max_steps`` counts from the start of
    the run, not from a resume. ``validate=False`` skips validation (no ``val`` folder needed). ``holdout``: faces
    at the end of ``data`` held out for validation when there is no ``val`` (``None``: chosen when a run starts,
    :func:`unmask.train.data.split.holdout_size`, and stored, so a resume splits the same way; 0: none).
    ``init`` warm-starts a new run from another run's weights (a checkpoint file, run folder or run name): same arch
    and preset, fresh optimisers, step 0 (e.g. fine-tuning a model on one region or another ``hole_fill``).
    """

    arch: str
    preset: str | None = None
    data: str | None = None
    val: str | None = None
    region: str = "eyes"
    mask_mix: Mapping[str, float] | None = None
    hole_fill: str | None = None
    color_jitter: float = 0.0
    batch_size: int = 16
    max_steps: int | None = None
    max_minutes: float | None = None
    lr: float | None = None
    d_lr: float | None = None
    weights: Mapping[str, float] = field(default_factory=dict)
    out: str = "runs"
    name: str | None = None
    checkpoint_every: int = 500
    val_every: int = 1000
    val_images: int = 64
    validate: bool = True
    log_every: int = 10
    perceptual_weights: str | None = None
    lpips_weights: str | None = None
    seed: int = 0
    threads: int | None = None
    device: str = "auto"
    workers: int | None = None
    cache: str | None = None
    amp: bool = True
    max_bad_steps: int = 20
    init: str | None = None
    holdout: int | None = None

    # -- conversions -----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mask_mix"] = dict(self.mask_mix) if self.mask_mix is not None else None
        d["weights"] = dict(self.weights)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=1)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        norm = {str(k).replace("-", "_"): v for k, v in raw.items()}
        unknown = sorted(set(norm) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        if "arch" not in norm:
            raise ConfigError("setting 'arch' is missing")
        if isinstance(norm.get("mask_mix"), str):
            norm["mask_mix"] = parse_mask_mix(norm["mask_mix"])
        cfg = cls(**norm)
        cfg.check()
        return cfg

    def merged(self, overrides: Mapping[str, Any]) -> "TrainConfig":
        """A copy with the non-``None`` entries of ``overrides`` applied (and checked)."""
        known = {f.name for f in fields(self)}
        kw = {k.replace("-", "_"): v for k, v in overrides.items() if v is not None}
        unknown = sorted(set(kw) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        cfg = replace(self, **kw)
        cfg.check()
        return cfg

    def check(self) -> None:
        """Raises :class:`ConfigError` for values out of range (arch-independent checks only)."""
        if self.region not in TRAIN_REGIONS:
            raise ConfigError(f"region must be one of {', '.join(TRAIN_REGIONS)} (got {self.region!r})")
        if not 0.0 <= float(self.color_jitter) <= 1.0:
            raise ConfigError(f"color_jitter must be a probability in [0, 1] (got {self.color_jitter!r})")
        if self.hole_fill is not None and self.hole_fill not in HOLE_FILLS:
            raise ConfigError(f"hole_fill must be one of {', '.join(HOLE_FILLS)} (got {self.hole_fill!r})")
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)} (got {self.device!r})")
        for key in ("batch_size", "checkpoint_every", "val_every", "log_every", "val_images", "max_bad_steps"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"{key} must be >= 1 (got {getattr(self, key)})")
        if self.holdout is not None and int(self.holdout) < 0:
            raise ConfigError(f"holdout must be >= 0 (got {self.holdout})")
        if self.max_steps is not None and self.max_steps < 0:
            raise ConfigError(f"max_steps must be >= 0 (got {self.max_steps})")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError(f"max_minutes must be > 0 (got {self.max_minutes})")
        for key in ("lr", "d_lr"):
            v = getattr(self, key)
            if v is not None and not v > 0:
                raise ConfigError(f"{key} must be > 0 (got {v})")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be >= 1 (got {self.threads})")
        if self.workers is not None and self.workers < 0:
            raise ConfigError(f"workers must be >= 0 (got {self.workers})")
        if self.name is not None and not re.fullmatch(r"[A-Za-z0-9._-]+", self.name):
            raise ConfigError(f"run name {self.name!r} may only hold letters, digits, '.', '_' and '-'")
        if self.mask_mix is not None:
            check_mask_mix(self.mask_mix, self.region)


def parse_mask_mix(text: str) -> dict[str, float]:
    """``"bar=0.5,pixelate=0.3,freeform=0.2"`` -> ``{"bar": 0.5, ...}`` (weights need not sum to 1)."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"mask mix entry {part!r} is not KIND=WEIGHT")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"mask mix weight {value!r} of {key.strip()!r} is not a number") from None
    if not out:
        raise ConfigError("mask mix is empty")
    return out


def check_mask_mix(mix: Mapping[str, float], region: str) -> None:
    for kind, w in mix.items():
        if kind not in CENSOR_KINDS:
            raise ConfigError(f"unknown censor kind {kind!r} in mask mix (choose from {', '.join(CENSOR_KINDS)})")
        if w < 0:
            raise ConfigError(f"mask mix weight of {kind!r} is negative")
        if region in REGIONS and KIND_REGION[kind] not in (None, region):
            raise ConfigError(f"censor kind {kind!r} does not cover the {region} region")
    if sum(mix.values()) <= 0:
        raise ConfigError("mask mix weights sum to 0")


def kind_probs(cfg: TrainConfig) -> dict[str, float]:
    """Probability of each censor kind in training samples.

    One region: ``mask_mix`` (or :data:`DEFAULT_MASK_MIX`), normalised. ``mix``: each region half the time, each
    with its kinds (a user ``mask_mix`` is split by the region its kinds cover; ``freeform`` belongs to both).
    """
    regions = REGIONS if cfg.region == MIX else (cfg.region,)
    out: dict[str, float] = {}
    for r in regions:
        if cfg.mask_mix is None:
            mix = dict(DEFAULT_MASK_MIX[r])
        else:
            mix = {k: float(w) for k, w in cfg.mask_mix.items() if KIND_REGION.get(k) in (None, r)}
        total = sum(mix.values())
        if total <= 0:
            raise ConfigError(f"mask mix {dict(cfg.mask_mix or {})} holds no censor kind for region {r!r}")
        for k, w in mix.items():
            if w > 0:
                out[k] = out.get(k, 0.0) + w / total / len(regions)
    return out


def load_file(path: str | os.PathLike) -> dict[str, Any]:
    """Settings from a ``.json`` or ``.toml`` file (a flat table; ``[train]`` table accepted in TOML)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config ({e.strerror or e})") from None
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            raw = tomllib.loads(text)
            raw = raw.get("train", raw)
        elif p.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            raise ConfigError(f"{p}: config must be a .json or .toml file")
    except (ValueError, TypeError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"{p}: not a valid {p.suffix[1:].upper()} file ({e})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: config must be a table of settings")
    return raw


def default_data(which: str) -> str | None:
    """The training (``which="train"``) or validation set used when none is given: ``$UNMASK_DATA`` /
    ``$UNMASK_VAL``, else None (the library assumes no folder beside it)."""
    return os.environ.get(ENV_DATA if which == "train" else ENV_VAL) or None


@dataclass(frozen=True)
class Resolved:
    """The arch-dependent settings of a :class:`TrainConfig`, with the arch's defaults filled in."""

    preset: str
    lr: float
    d_lr: float
    betas: tuple[float, float]
    hole_fill: str
    weights: dict[str, float]


def resolved(cfg: TrainConfig, spec: ArchSpec) -> Resolved:
    """Fills arch defaults from ``spec``; raises :class:`ConfigError` for an unknown preset or loss weight."""
    preset = cfg.preset or spec.default_preset
    if preset not in spec.presets:
        raise ConfigError(f"arch {spec.name!r} has no preset {preset!r} (choose from {', '.join(spec.presets)})")
    unknown = sorted(set(cfg.weights) - set(spec.loss_weights))
    if unknown:
        raise ConfigError(
            f"arch {spec.name!r} has no loss weight {', '.join(unknown)} (has {', '.join(sorted(spec.loss_weights))})"
        )
    weights = {k: float(v) for k, v in spec.loss_weights.items()}
    weights.update({k: float(v) for k, v in cfg.weights.items()})
    lr = cfg.lr if cfg.lr is not None else spec.lr
    d_lr = cfg.d_lr if cfg.d_lr is not None else (spec.d_lr if spec.d_lr is not None else lr)
    return Resolved(
        preset=preset,
        lr=float(lr),
        d_lr=float(d_lr),
        betas=(float(spec.betas[0]), float(spec.betas[1])),
        hole_fill=cfg.hole_fill or spec.hole_fill,
        weights=weights,
    )
