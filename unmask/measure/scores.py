"""What ``unmask eval`` measures and reports: its settings, one method's scores on one face, a summary row per
method, and the report that holds them (:func:`unmask.measure.evaluate.evaluate` fills it). Never prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unmask.measure.metrics import summarize
from unmask.measure.skin import SkinGroup, skin_groups
from unmask.measure.texture import HOLE_PAD, HOLE_SHORT, kid_interval
from unmask.spec import KIND_REGION, REGION_KINDS, REGIONS

DEFAULT_CENSOR = {region: kinds[0] for region, kinds in REGION_KINDS.items()}
"""Censor drawn per region when none is named."""

LPIPS_SIZE = 128
"""Side of the aligned face crop LPIPS and the grid are computed on."""

COVERED = 0.99
"""A face counts as fully uncovered by the pipeline's hole when less than this fraction of the censor is inside it."""

GRID_FACES = 6
METRICS = ("psnr", "ssim", "l1", "lpips")
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "l1": False, "lpips": False}


@dataclass(frozen=True)
class EvalSettings:
    """``region``: eyes or mouth; ``censor``: a censor kind of that region (default :data:`DEFAULT_CENSOR`);
    ``n``: photos to use (the first ``n`` sorted); ``seed``: base of the per-photo censor RNG; ``jpeg``: quality
    of the JPEG round trip of each censored photo (0: none);
    ``grid_faces``: faces kept for :func:`unmask.measure.grid.make_grid`; ``lpips_size``: aligned crop side for
    LPIPS and the grid;
    ``mosaic_means``: the models' results keep a mosaic's block means as ``unmask run`` does (the OpenCV baselines
    are always plain OpenCV); ``flip_average``: the models' results averaged with their results on the mirrored
    face, as ``unmask run`` does on photos (:mod:`unmask.infer.flip`); ``retouch``: the models' results pasted with
    grain, as ``unmask run`` does on photos (:mod:`unmask.infer.compose`)."""

    region: str
    censor: str | None = None
    n: int = 100
    seed: int = 0
    grid_faces: int = GRID_FACES
    lpips_size: int = LPIPS_SIZE
    mosaic_means: bool = True
    jpeg: int = 90
    flip_average: bool = True
    retouch: bool = True

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"unknown region {self.region!r} (choose {' or '.join(REGIONS)})")
        kind = self.censor_kind
        if KIND_REGION.get(kind) != self.region:
            raise ValueError(
                f"censor {kind!r} does not hide the {self.region} (choose from {', '.join(REGION_KINDS[self.region])})"
            )
        if self.n < 1:
            raise ValueError("n must be at least 1")
        if not (self.jpeg == 0 or 1 <= self.jpeg <= 100):
            raise ValueError(f"jpeg quality must be 1-100, or 0 for none (got {self.jpeg})")

    @property
    def censor_kind(self) -> str:
        return self.censor or DEFAULT_CENSOR[self.region]


@dataclass
class FaceScore:
    """One method on one face. ``lpips`` is None when LPIPS is off; ``outside``: pixels changed beyond the
    blend margin; ``coverage``: fraction of the censor inside the restored hole (None for ``none``);
    ``hole_pixels``: size of the scored hole; ``seconds``: the method's restore time (align, infer, blend;
    detection excluded as it is shared).

    Texture and colour of the hole (None when not measured; :mod:`unmask.measure.texture`): ``detail``:
    :func:`~unmask.measure.texture.detail_ratio` on the true censor pixels; ``hole_lpips``: LPIPS on the censor's
    padded box (:func:`~unmask.measure.texture.hole_box_crop`, the method's pixels in the censor, the photo's
    around it); ``tone``: :func:`~unmask.measure.texture.tone_error`; ``ita``: the face's skin tone (:mod:`unmask.measure.skin`, the same for every method); ``features`` and
    ``truth_features``: pooled SqueezeNet features of the restored and of the true hole box, for KID (not
    serialised)."""

    photo: str
    method: str
    psnr: float
    ssim: float
    l1: float
    lpips: float | None
    outside: int
    hole_pixels: int
    seconds: float
    coverage: float | None = None
    iou: float | None = None
    spill: float | None = None
    found: bool | None = None
    detail: float | None = None
    hole_lpips: float | None = None
    tone: float | None = None
    ita: float | None = None
    features: np.ndarray | None = field(default=None, repr=False)
    truth_features: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "photo": self.photo,
            "method": self.method,
            "psnr": round(self.psnr, 4),
            "ssim": round(self.ssim, 5),
            "l1": round(self.l1, 5),
            "lpips": _round(self.lpips, 5),
            "outside": self.outside,
            "hole_pixels": self.hole_pixels,
            "coverage": _round(self.coverage, 4),
            "iou": _round(self.iou, 4),
            "spill": _round(self.spill, 5),
            "found": self.found,
            "seconds": round(self.seconds, 5),
            "detail": _round(self.detail, 4),
            "hole_lpips": _round(self.hole_lpips, 5),
            "tone": _round(self.tone, 4),
            "ita": _round(self.ita, 2),
        }


Summary = tuple[float, float, float]


@dataclass
class MethodRow:
    """Summary of one method: each metric as ``(mean, lo, hi)`` (95% bootstrap interval of the mean, see
    :func:`unmask.measure.metrics.summarize`), None when no face was scored (or LPIPS is off). ``coverage``: mean
    fraction of the censor inside the restored hole; ``partly_covered``: faces where it is below :data:`COVERED`.
    ``detail``, ``hole_lpips``, ``tone``: as the others, over the faces where they were measured; ``kid``: KID x 1000
    of the set of restored hole boxes against the true ones, with a 95% bootstrap interval
    (:func:`unmask.measure.texture.kid_interval`; None under two faces or without LPIPS)."""

    name: str
    kind: str  # "model" or "baseline"
    faces: int
    psnr: Summary | None
    ssim: Summary | None
    l1: Summary | None
    lpips: Summary | None
    outside_pixels: int
    outside_faces: int
    seconds_per_face: float | None
    coverage: float | None = None
    partly_covered: int = 0
    iou: float | None = None
    spill: float | None = None
    missed: int = 0
    detail: Summary | None = None
    hole_lpips: Summary | None = None
    kid: Summary | None = None
    tone: Summary | None = None

    def to_dict(self) -> dict[str, Any]:
        def s(v: Summary | None, nd: int) -> dict[str, float] | None:
            return None if v is None else {"mean": round(v[0], nd), "lo": round(v[1], nd), "hi": round(v[2], nd)}

        return {
            "name": self.name,
            "kind": self.kind,
            "faces": self.faces,
            "psnr": s(self.psnr, 4),
            "ssim": s(self.ssim, 5),
            "l1": s(self.l1, 5),
            "lpips": s(self.lpips, 5),
            "outside_pixels": self.outside_pixels,
            "outside_faces": self.outside_faces,
            "seconds_per_face": _round(self.seconds_per_face, 5),
            "coverage": _round(self.coverage, 4),
            "partly_covered": self.partly_covered,
            "iou": _round(self.iou, 4),
            "spill": _round(self.spill, 5),
            "missed": self.missed,
            "detail": s(self.detail, 4),
            "hole_lpips": s(self.hole_lpips, 5),
            "kid_x1000": s(self.kid, 4),
            "tone": s(self.tone, 4),
        }


@dataclass
class GridFace:
    """Aligned crops (``lpips_size`` px, HxWx3 uint8) of one face: the censored input, each method's result
    (in method order), the original."""

    photo: str
    censored: np.ndarray
    results: dict[str, np.ndarray]
    original: np.ndarray


@dataclass
class EvalReport:
    """Everything :func:`unmask.measure.evaluate.evaluate` measured. ``photos``: photos looked at;
    ``unreadable``: photos that could not be read; ``no_face``: clean photos with no face; ``lost``: censored faces
    not found again (excluded for every method); ``scored``: faces scored by every method; ``data``: the folder
    the photos came from; ``source``: ``"photos"`` (faces found by the detector, found again under the censor) or
    ``"set"`` (aligned crops and landmarks of a training set, :func:`unmask.measure.evaluate.evaluate_set`)."""

    settings: EvalSettings
    methods: list[str]
    kinds: dict[str, str]
    photos: int = 0
    unreadable: int = 0
    no_face: int = 0
    lost: int = 0
    scored: int = 0
    faces: list[FaceScore] = field(default_factory=list)
    grid: list[GridFace] = field(default_factory=list)
    lpips: bool = True
    data: str = ""
    source: str = "photos"

    def scores(self, method: str) -> list[FaceScore]:
        return [f for f in self.faces if f.method == method]

    def rows(self) -> list[MethodRow]:
        """One summary row per method, in method order."""
        rows = []
        for name in self.methods:
            fs = self.scores(name)

            def summ(metric: str, fs: list = fs) -> Summary | None:
                vals = [getattr(f, metric) for f in fs]
                if not vals or any(v is None for v in vals):
                    return None
                return summarize(vals)

            def measured(metric: str, fs: list = fs) -> Summary | None:
                vals = [v for f in fs if (v := getattr(f, metric)) is not None]
                return summarize(vals) if vals else None

            rows.append(
                MethodRow(
                    name=name,
                    kind=self.kinds.get(name, "model"),
                    faces=len(fs),
                    psnr=summ("psnr"),
                    ssim=summ("ssim"),
                    l1=summ("l1"),
                    lpips=summ("lpips"),
                    outside_pixels=sum(f.outside for f in fs),
                    outside_faces=sum(f.outside > 0 for f in fs),
                    seconds_per_face=(sum(f.seconds for f in fs) / len(fs)) if fs else None,
                    coverage=float(np.mean(cov))
                    if (cov := [f.coverage for f in fs if f.coverage is not None])
                    else None,
                    partly_covered=sum(f.coverage is not None and f.coverage < COVERED for f in fs),
                    iou=_mean([f.iou for f in fs]),
                    spill=_mean([f.spill for f in fs]),
                    missed=sum(f.found is False for f in fs),
                    detail=measured("detail"),
                    hole_lpips=measured("hole_lpips"),
                    kid=_kid([f for f in fs if f.features is not None and f.truth_features is not None]),
                    tone=measured("tone"),
                )
            )
        return rows

    def skin_groups(self) -> list[SkinGroup]:
        """The scored faces in three skin-tone groups by ITA (:func:`unmask.measure.skin.skin_groups`)."""
        return skin_groups(self.faces, self.methods)

    @property
    def outside_total(self) -> int:
        return sum(f.outside for f in self.faces)

    def to_dict(self, per_face: bool = False) -> dict[str, Any]:
        """``settings`` (data, source, region, censor, seed, n, lpips_size, lpips, mosaic_means, jpeg, flip_average, hole_box), the counts, one ``rows``
        entry per method, the ``skin_groups`` (:meth:`skin_groups`) and, with ``per_face``, every face's scores
        (``faces``)."""
        s = self.settings
        out: dict[str, Any] = {
            "settings": {
                "data": self.data,
                "source": self.source,
                "region": s.region,
                "censor": s.censor_kind,
                "seed": s.seed,
                "n": s.n,
                "lpips_size": s.lpips_size,
                "lpips": self.lpips,
                "mosaic_means": s.mosaic_means,
                "jpeg": s.jpeg,
                "flip_average": s.flip_average,
                "retouch": s.retouch,
                "hole_box": {"pad": HOLE_PAD, "short_side": HOLE_SHORT},
            },
            "photos": self.photos,
            "unreadable": self.unreadable,
            "no_face": self.no_face,
            "lost": self.lost,
            "faces_scored": self.scored,
            "rows": [r.to_dict() for r in self.rows()],
            "skin_groups": [g.to_dict() for g in self.skin_groups()],
        }
        if per_face:
            out["faces"] = [f.to_dict() for f in self.faces]
        return out


def _round(v: float | None, nd: int) -> float | None:
    return None if v is None else round(v, nd)


def _kid(fs: Sequence[FaceScore]) -> Summary | None:
    """KID x 1000 (value, lo, hi) of the faces' restored hole features against their true ones."""
    if len(fs) < 2:
        return None
    v, lo, hi = kid_interval(np.stack([f.features for f in fs]), np.stack([f.truth_features for f in fs]))
    return 1000.0 * v, 1000.0 * lo, 1000.0 * hi


def _mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None
