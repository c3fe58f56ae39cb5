"""Quality of models and classic baselines on clean face photos: censor a face, restore it, score what was hidden.

For each of the first ``n`` photos of a folder (sorted by name):

1. the largest face is found on the **clean** photo (:class:`unmask.face.detect.FaceFinder`);
2. it is censored in the photo with :func:`unmask.masks.draw_censor` (eye bar, pixelated band or surgical mask,
   randomised in shape, colour, corners and texture as training draws them) from
   ``numpy.random.default_rng(seed + index)``, ``index`` being the photo's place in the sorted list, so two runs
   (or two sets of methods) see exactly the same censored photos; the censored photo then goes through JPEG at
   ``settings.jpeg`` (90 by default; 0: not compressed), as censored photos met in the wild have;
3. the face is looked for again on the **censored** photo, as real use would (landmarks under a bar drift); a
   face not found again (no detection overlapping the clean face's box) counts as lost for every method alike
   and is excluded from every score (the count is reported);
4. every model restores the censored photo through the same :class:`unmask.pipeline.Restorer` path as
   ``unmask PHOTO`` (region fixed, the faces found in step 3 handed to each Restorer so detection is identical
   for all; the Restorer finds the censor itself). The OpenCV baselines (Telea, NS) are given the censor's true
   pixels and inpaint the photo at full resolution: the fair baseline, the one a user who knows the censor
   would run. The ``none`` baseline *is* the censored photo.

Scores, per face and method (``target`` = the clean photo, ``hole`` = the occluder mask of step 2, i.e. the
pixels actually hidden, identical for every method):

* ``psnr``, ``l1`` over the hole, ``ssim`` on the hole's bounding box (:mod:`unmask.metrics`);
* ``lpips`` on the aligned face crop: the clean face is aligned (all landmarks, :data:`LPIPS_SIZE` px) and the
  same matrix warps each method's output photo;
* ``iou``: intersection over union of the hole the method restored (``Result.hole``: the censor it found plus
  the margin) and the censor's true pixels; ``coverage``: the share of the censor inside that hole;
* ``spill``: visible pixels (farther than :data:`SPILL_DISTANCE` px from the censor) changed by more than
  :data:`SPILL_LEVEL` grey levels, per censor pixel: what a method repainted that was never hidden;
* ``outside``: pixels changed outside the restored hole. It must be 0;
* ``found``: whether the method's Restorer found a censor on the face at all (when not, the face is left as
  it was and scores as the censored photo).

:func:`evaluate_set` scores the faces of a training set made by ``unmask prepare`` instead, without a detector
(mediapipe): each aligned crop is the photo and its stored landmarks stand for steps 1 and 3.

This module never prints. Array conventions: images HxWx3 uint8 RGB, masks HxW uint8 with 255 = hole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

import cv2
import numpy as np

from unmask.face.align import face_matrix, warp_to_crop
from unmask.face.types import Face, box_iou
from unmask.masks import draw_censor, jpeg
from unmask.metrics import hole_iou, l1_hole, psnr_hole, spill, ssim_box, summarize
from unmask.spec import KIND_REGION, REGION_KINDS, REGIONS, is_hole

if TYPE_CHECKING:  # pragma: no cover
    from unmask.data.shards import FaceSet
    from unmask.face.detect import FaceFinder
    from unmask.metrics import LPIPS
    from unmask.pipeline import Inpainter

DEFAULT_CENSOR = {region: kinds[0] for region, kinds in REGION_KINDS.items()}
"""Censor drawn per region when none is named."""

LPIPS_SIZE = 128
"""Side of the aligned face crop LPIPS and the grid are computed on."""

COVERED = 0.99
"""A face counts as fully uncovered by the pipeline's hole when less than this fraction of the censor is inside it."""

MATCH_IOU = 0.3
"""A face found on the censored photo is the censored face when its box overlaps the clean one this much."""

SPILL_DISTANCE = 3
SPILL_LEVEL = 12
"""Spill counts pixels farther than this from the censor that changed by more than this many grey levels."""

GRID_FACES = 6
METRICS = ("psnr", "ssim", "l1", "lpips")
HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "l1": False, "lpips": False}
NONE_BASELINE = "none"


@dataclass(frozen=True)
class EvalSettings:
    """``region``: eyes or mouth; ``censor``: a censor kind of that region (default :data:`DEFAULT_CENSOR`);
    ``n``: photos to use (the first ``n`` sorted); ``seed``: base of the per-photo censor RNG; ``jpeg``: quality
    of the JPEG round trip of each censored photo (0: none);
    ``grid_faces``: faces kept for :func:`make_grid`; ``lpips_size``: aligned crop side for LPIPS and the grid;
    ``mosaic_means``: the models' results keep a mosaic's block means as ``unmask run`` does (the OpenCV baselines
    are always plain OpenCV)."""

    region: str
    censor: str | None = None
    n: int = 100
    seed: int = 0
    grid_faces: int = GRID_FACES
    lpips_size: int = LPIPS_SIZE
    mosaic_means: bool = True
    jpeg: int = 90

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
    detection excluded as it is shared)."""

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "photo": self.photo,
            "method": self.method,
            "psnr": round(self.psnr, 4),
            "ssim": round(self.ssim, 5),
            "l1": round(self.l1, 5),
            "lpips": None if self.lpips is None else round(self.lpips, 5),
            "outside": self.outside,
            "hole_pixels": self.hole_pixels,
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "iou": None if self.iou is None else round(self.iou, 4),
            "spill": None if self.spill is None else round(self.spill, 5),
            "found": self.found,
            "seconds": round(self.seconds, 5),
        }


Summary = tuple[float, float, float]


@dataclass
class MethodRow:
    """Summary of one method: each metric as ``(mean, lo, hi)`` (95% bootstrap interval of the mean, see
    :func:`unmask.metrics.summarize`), None when no face was scored (or LPIPS is off). ``coverage``: mean
    fraction of the censor inside the restored hole; ``partly_covered``: faces where it is below :data:`COVERED`."""

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
            "seconds_per_face": None if self.seconds_per_face is None else round(self.seconds_per_face, 5),
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "partly_covered": self.partly_covered,
            "iou": None if self.iou is None else round(self.iou, 4),
            "spill": None if self.spill is None else round(self.spill, 5),
            "missed": self.missed,
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
    """Everything :func:`evaluate` measured. ``photos``: photos looked at; ``unreadable``: photos that could not
    be read; ``no_face``: clean photos with no face; ``lost``: censored faces not found again (excluded for every
    method); ``scored``: faces scored by every method; ``data``: the folder the photos came from; ``source``:
    ``"photos"`` (faces found by the detector, found again under the censor) or ``"set"`` (aligned crops and
    landmarks of a training set, :func:`evaluate_set`)."""

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

            def summ(metric: str) -> Summary | None:
                vals = [getattr(f, metric) for f in fs]
                if not vals or any(v is None for v in vals):
                    return None
                return summarize(vals)

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
                    coverage=float(np.mean(cov)) if (cov := [f.coverage for f in fs if f.coverage is not None]) else None,
                    partly_covered=sum(f.coverage is not None and f.coverage < COVERED for f in fs),
                    iou=_mean([f.iou for f in fs]),
                    spill=_mean([f.spill for f in fs]),
                    missed=sum(f.found is False for f in fs),
                )
            )
        return rows

    @property
    def outside_total(self) -> int:
        return sum(f.outside for f in self.faces)

    def to_dict(self, per_face: bool = False) -> dict[str, Any]:
        """``settings`` (data, source, region, censor, seed, n, lpips_size, lpips, mosaic_means, jpeg), the counts, one ``rows`` entry per
        method and, with ``per_face``, every face's scores (``faces``)."""
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
            },
            "photos": self.photos,
            "unreadable": self.unreadable,
            "no_face": self.no_face,
            "lost": self.lost,
            "faces_scored": self.scored,
            "rows": [r.to_dict() for r in self.rows()],
        }
        if per_face:
            out["faces"] = [f.to_dict() for f in self.faces]
        return out


class _GivenFaces:
    """A stand-in for :class:`FaceFinder` handing the Restorer the faces already found on the censored photo."""

    def __init__(self) -> None:
        self.faces: list[Face] = []
        self.last_too_small = 0

    def find(self, rgb: np.ndarray) -> list[Face]:
        return list(self.faces)

    def close(self) -> None:
        pass


iou = box_iou
"""Box IoU under its older name here (:func:`unmask.face.types.box_iou`)."""


def match_face(faces: Iterable[Face], box: Sequence[float], min_iou: float = MATCH_IOU) -> Face | None:
    """The face of ``faces`` overlapping ``box`` most, if at least ``min_iou``."""
    best, best_iou = None, min_iou
    for f in faces:
        v = iou(f.box, box)
        if v >= best_iou:
            best, best_iou = f, v
    return best


def _mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def outside_changed(out: np.ndarray, before: np.ndarray, hole: np.ndarray) -> int:
    """Pixels where ``out`` differs from ``before`` (HxWx3 uint8) outside ``hole`` (HxW uint8, 255 = restored)."""
    changed = np.any(out != before, axis=2)
    return int(np.count_nonzero(changed & ~is_hole(hole)))


def hole_coverage(censor: np.ndarray, restored: np.ndarray) -> float:
    """Fraction of the ``censor`` pixels (HxW uint8, 255 = hidden) inside the ``restored`` hole (HxW uint8)."""
    c = is_hole(censor)
    n = int(np.count_nonzero(c))
    return float(np.count_nonzero(c & is_hole(restored)) / n) if n else 1.0


def list_photos(folder: str | Path, n: int | None = None) -> list[Path]:
    """The image files directly in ``folder``, sorted by name, at most ``n``."""
    from unmask.inputs import is_image_name

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    photos = sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p.name))
    return photos[:n] if n is not None else photos


def as_inpainter(method: Any) -> "Inpainter":
    """Models and baselines both expose ``size`` and ``run``; kept as the one place evaluation adapts methods."""
    return method


def is_none_baseline(method: Any) -> bool:
    return getattr(method, "name", None) == NONE_BASELINE and getattr(getattr(method, "meta", None), "arch", "") == "baseline"


def evaluate(
    photos: Sequence[str | Path],
    methods: Mapping[str, "Inpainter"],
    settings: EvalSettings,
    lpips: "LPIPS | None" = None,
    finder: "FaceFinder | None" = None,
    kinds: Mapping[str, str] | None = None,
    on_photo: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Censors, restores and scores the first ``settings.n`` of ``photos`` (in the order given) with every
    method (name -> inpainter: a :class:`unmask.runtime.Model` or :class:`unmask.baselines.Baseline`), see the
    module docstring. ``lpips``: an :class:`unmask.metrics.LPIPS` (None: no LPIPS); ``finder``: a FaceFinder
    (made and closed here when None); ``kinds``: "model" / "baseline" per method for the report;
    ``on_photo(done, total)`` is called after each photo."""
    photos = [Path(p) for p in photos][: settings.n]
    parents = {str(p.parent) for p in photos}
    own_finder = finder is None
    if finder is None:
        from unmask.face.detect import FaceFinder

        finder = FaceFinder()
    try:
        return _evaluate(_photo_samples(photos, finder), len(photos), lambda censored, face: match_face(finder.find(censored), face.box),
                         methods, settings, lpips, kinds, on_photo, parents.pop() if len(parents) == 1 else "")  # fmt: skip
    finally:
        if own_finder:
            finder.close()


def evaluate_set(
    faces: "FaceSet",
    methods: Mapping[str, "Inpainter"],
    settings: EvalSettings,
    lpips: "LPIPS | None" = None,
    kinds: Mapping[str, str] | None = None,
    on_photo: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """:func:`evaluate` on the first ``settings.n`` faces of a training set made by ``unmask prepare``
    (:class:`unmask.data.shards.FaceSet`), without mediapipe: each aligned crop is the photo, and its stored
    landmarks place the censor (step 2) and are handed to the methods as the face (step 3 is skipped: landmarks
    from the clean face, not found again under the censor, so no face is lost and the censor finders are
    given the landmarks a detector would have on the clean face). Scores as :func:`evaluate`'s."""
    n = min(settings.n, len(faces))
    return _evaluate(_set_samples(faces, n), n, lambda censored, face: face, methods, settings, lpips, kinds, on_photo,
                     str(faces.root), source="set")  # fmt: skip


def face_from_landmarks(landmarks: np.ndarray) -> Face:
    """A :class:`Face` (no detector keypoints) whose box is the extent of ``landmarks`` (478x2, pixels)."""
    lm = np.asarray(landmarks, np.float32)
    x0, y0 = lm.min(axis=0)
    x1, y1 = lm.max(axis=0)
    return Face((float(x0), float(y0), float(x1), float(y1)), lm)


_Sample = tuple[str, "np.ndarray | None", "Face | None"]
"""(name, the clean RGB image or None when unreadable, its face or None when none was found)."""


def _photo_samples(photos: Sequence[Path], finder: "FaceFinder") -> Iterator[_Sample]:
    from unmask.io import ImageError, read_image

    for path in photos:
        try:
            clean = read_image(path).rgb
        except ImageError:
            yield path.name, None, None
            continue
        faces = finder.find(clean)
        yield path.name, clean, faces[0] if faces else None


def _set_samples(faces: "FaceSet", n: int) -> Iterator[_Sample]:
    for i in range(n):
        yield faces.names[i], faces.crop(i), face_from_landmarks(faces.landmarks(i))


def _evaluate(
    samples: Iterable[_Sample],
    total: int,
    refind: Callable[[np.ndarray, Face], Face | None],
    methods: Mapping[str, "Inpainter"],
    settings: EvalSettings,
    lpips: "LPIPS | None",
    kinds: Mapping[str, str] | None,
    on_photo: Callable[[int, int], None] | None,
    data: str,
    source: str = "photos",
) -> EvalReport:
    """The loop of :func:`evaluate` over ``samples``; ``refind(censored, face)``: the face to hand the methods
    on the censored image (None: lost)."""
    from unmask.pipeline import Restorer

    if not methods:
        raise ValueError("no method to evaluate")
    kinds = dict(kinds or {})
    for name, m in methods.items():
        kinds.setdefault(name, "baseline" if getattr(getattr(m, "meta", None), "arch", "") == "baseline" else "model")
    report = EvalReport(settings, list(methods), kinds, lpips=lpips is not None, data=data, source=source)
    given = _GivenFaces()
    restorers = {
        name: Restorer({settings.region: as_inpainter(m)}, region=settings.region, finder=given,  # type: ignore[arg-type]
                       keep_mosaic=settings.mosaic_means)
        for name, m in methods.items()
        if kinds[name] != "baseline"
    }
    size = settings.lpips_size
    for index, (name, clean, face) in enumerate(samples):
        report.photos += 1
        if clean is None:
            report.unreadable += 1
        elif face is None:
            report.no_face += 1
        else:
            rng = np.random.default_rng(settings.seed + index)
            censored, hole = draw_censor(clean, face.landmarks, settings.censor_kind, rng)
            if settings.jpeg:
                censored = jpeg(censored, settings.jpeg)
            match = refind(censored, face)
            if match is None or not is_hole(hole).any():
                report.lost += 1
            else:
                given.faces = [match]
                outputs = _restore_all(methods, restorers, censored, hole)
                _score(report, name, clean, censored, hole, face, outputs, lpips, size)
                report.scored += 1
        if on_photo is not None:
            on_photo(index + 1, total)
    return report


@dataclass
class _Output:
    rgb: np.ndarray
    outside: int
    seconds: float
    coverage: float | None = None
    iou: float | None = None
    spill: float | None = None
    found: bool | None = None


def _restore_all(
    methods: Mapping[str, Any], restorers: Mapping[str, Any], censored: np.ndarray, censor: np.ndarray
) -> dict[str, _Output]:
    outputs: dict[str, _Output] = {}
    for name, method in methods.items():
        if is_none_baseline(method):  # the censored photo itself
            outputs[name] = _Output(censored, 0, 0.0, spill=0.0)
            continue
        t0 = time.perf_counter()
        if name not in restorers:  # an OpenCV baseline, given the censor's true pixels at photo resolution
            rgb = method.inpaint_photo(censored, censor)
            seconds = time.perf_counter() - t0
            outputs[name] = _Output(rgb, outside_changed(rgb, censored, censor), seconds, 1.0, 1.0,
                                    spill(rgb, censored, censor, SPILL_DISTANCE, SPILL_LEVEL), True)
            continue
        result = restorers[name].restore(censored, want_mask=True)
        seconds = time.perf_counter() - t0
        restored = result.hole if result.hole is not None else np.zeros(censor.shape, np.uint8)
        outputs[name] = _Output(
            result.rgb, outside_changed(result.rgb, censored, restored), seconds, hole_coverage(censor, restored),
            hole_iou(restored, censor), spill(result.rgb, censored, censor, SPILL_DISTANCE, SPILL_LEVEL),
            result.restored > 0,
        )
    return outputs


def _score(
    report: EvalReport,
    photo: str,
    clean: np.ndarray,
    censored: np.ndarray,
    hole: np.ndarray,
    face: Face,
    outputs: Mapping[str, _Output],
    lpips: "LPIPS | None",
    size: int,
) -> None:
    m = face_matrix(face.landmarks, size, None)
    crops = {name: warp_to_crop(o.rgb, m, size) for name, o in outputs.items()}
    original = warp_to_crop(clean, m, size)
    dists: dict[str, float | None] = {name: None for name in outputs}
    if lpips is not None:
        names = list(crops)
        d = lpips([original] * len(names), [crops[k] for k in names])
        dists = {k: float(v) for k, v in zip(names, d)}
    n_hole = int(np.count_nonzero(is_hole(hole)))
    for name, o in outputs.items():
        report.faces.append(
            FaceScore(
                photo=photo,
                method=name,
                psnr=psnr_hole(o.rgb, clean, hole),
                ssim=ssim_box(o.rgb, clean, hole),
                l1=l1_hole(o.rgb, clean, hole),
                lpips=dists[name],
                outside=o.outside,
                hole_pixels=n_hole,
                seconds=o.seconds,
                coverage=o.coverage,
                iou=o.iou,
                spill=o.spill,
                found=o.found,
            )
        )
    if len(report.grid) < report.settings.grid_faces:
        report.grid.append(GridFace(photo, warp_to_crop(censored, m, size), crops, original))


# -- the picture ---------------------------------------------------------------------------------------------------
HEADER = 22  # px of the label row
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _label(width: int, text: str) -> np.ndarray:
    """A ``HEADER x width`` white strip with ``text`` centred in black, shrunk (then cut) to fit."""
    strip = np.full((HEADER, width, 3), 255, np.uint8)
    scale = 0.45
    while scale > 0.3 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > width - 4:
        scale -= 0.025
    while len(text) > 1 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > width - 4:
        text = text[:-2] + "~"
    (tw, th), _ = cv2.getTextSize(text, FONT, scale, 1)
    cv2.putText(strip, text, ((width - tw) // 2, (HEADER + th) // 2), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def make_grid(report: EvalReport) -> np.ndarray:
    """The comparison picture (HxWx3 uint8 RGB): a header row of labels, then one row per kept face with the
    censored input, each method's result and the original, as aligned ``lpips_size`` px crops.
    Raises ValueError when no face was scored."""
    if not report.grid:
        raise ValueError("no face was scored: nothing to draw")
    size = report.settings.lpips_size
    labels = ["input", *report.methods, "original"]
    header = np.concatenate([_label(size, t) for t in labels], axis=1)
    rows = [header]
    for g in report.grid:
        rows.append(np.concatenate([g.censored, *(g.results[m] for m in report.methods), g.original], axis=1))
    return np.concatenate(rows, axis=0)


def grid_shape(methods: int, faces: int, size: int = LPIPS_SIZE) -> tuple[int, int, int]:
    """Shape of :func:`make_grid`'s picture for ``methods`` methods and ``faces`` rows."""
    return (HEADER + faces * size, (methods + 2) * size, 3)


# -- methods ---------------------------------------------------------------------------------------------------------
def build_methods(
    models: Sequence[str],
    baselines: Sequence[str],
    region: str,
    device: str = "auto",
    threads: int = 0,
) -> tuple[dict[str, "Inpainter"], dict[str, str], list[str]]:
    """Loads ``models`` (names or paths, :func:`unmask.runtime.find_model`) and makes ``baselines``
    (:data:`unmask.baselines.BASELINES`), the baselines at the first model's crop size (else 128 px).
    Returns (name -> inpainter, name -> kind, notes). Raises ``LookupError`` / ``ModelError`` /
    ``ValueError`` with one-line messages."""
    from unmask.baselines import BASELINES, DEFAULT_SIZE, Baseline
    from unmask.runtime import find_model, load_model

    methods: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    notes: list[str] = []
    for spec in models:
        m = load_model(find_model(spec, None), device, threads)
        if m.meta.region != region:
            notes.append(f"model {m.name} was trained for the {m.meta.region}; evaluating it on the {region}")
        if m.name in methods:
            raise ValueError(f"two methods named {m.name!r}")
        methods[m.name] = m
        kinds[m.name] = "model"
    size = next((int(m.size) for m in methods.values()), DEFAULT_SIZE)
    for b in baselines:
        if b not in BASELINES:
            raise ValueError(f"unknown baseline {b!r} (choose from {', '.join(BASELINES)})")
        if b in methods:
            raise ValueError(f"two methods named {b!r}")
        methods[b] = Baseline(b, size)
        kinds[b] = "baseline"
    return methods, kinds, notes
