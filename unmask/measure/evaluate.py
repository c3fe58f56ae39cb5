"""Quality of models and classic baselines on clean face photos: censor a face, restore it, score what was hidden.

For each of the first ``n`` photos of a folder (sorted by name):

1. the largest face is found on the **clean** photo (:class:`unmask.infer.face.detect.FaceFinder`);
2. it is censored in the photo with :func:`unmask.infer.censors.draw_censor` (eye bar, pixelated band or surgical mask,
   randomised in shape, colour, corners and texture as training draws them) from
   ``numpy.random.default_rng(seed + index)``, ``index`` being the photo's place in the sorted list, so two runs
   (or two sets of methods) see exactly the same censored photos; the censored photo then goes through JPEG at
   ``settings.jpeg`` (90 by default; 0: not compressed), as censored photos met in the wild have;
3. the face is looked for again on the **censored** photo, as real use would (landmarks under a bar drift); a
   face not found again (no detection overlapping the clean face's box) counts as lost for every method alike
   and is excluded from every score (the count is reported);
4. every model restores the censored photo through the same :class:`unmask.infer.pipeline.Restorer` path as
   ``unmask PHOTO`` (region fixed, the faces found in step 3 handed to each Restorer so detection is identical
   for all; the Restorer finds the censor itself). The OpenCV baselines (Telea, NS) are given the censor's true
   pixels and inpaint the photo at full resolution: the fair baseline, the one a user who knows the censor
   would run. The ``none`` baseline *is* the censored photo.

Scores, per face and method (``target`` = the clean photo, ``hole`` = the occluder mask of step 2, i.e. the
pixels actually hidden, identical for every method):

* ``psnr``, ``l1`` over the hole, ``ssim`` on the hole's bounding box (:mod:`unmask.measure.metrics`);
* ``lpips`` on the aligned face crop: the clean face is aligned (all landmarks, :data:`unmask.measure.scores.LPIPS_SIZE` px) and the
  same matrix warps each method's output photo;
* ``iou``: intersection over union of the hole the method restored (``Result.hole``: the censor it found plus
  the margin) and the censor's true pixels; ``coverage``: the share of the censor inside that hole;
* ``spill``: visible pixels (farther than :data:`SPILL_DISTANCE` px from the censor) changed by more than
  :data:`SPILL_LEVEL` grey levels, per censor pixel: what a method repainted that was never hidden;
* ``outside``: pixels changed outside the restored hole. It must be 0;
* ``found``: whether the method's Restorer found a censor on the face at all (when not, the face is left as
  it was and scores as the censored photo);
* texture and colour of the hole, at the photo's resolution: ``detail`` (|Laplacian| restored over true inside
  the censor eroded 2 px), ``tone`` (Delta E of its mean Lab colour), and on the censor's box padded by a quarter
  of its height and resized to 64 px short side (the method's pixels inside the censor, the clean photo's
  around it, as SSIM's box): ``hole_lpips`` and the pooled SqueezeNet features KID compares over the set
  (both need ``lpips``); ``ita``: the face's skin tone on the clean photo (:mod:`unmask.measure.skin`).

:func:`evaluate_set` scores the faces of a training set made by ``unmask prepare`` instead, without a detector
(mediapipe): each aligned crop is the photo and its stored landmarks stand for steps 1 and 3.

The settings and the report are in :mod:`unmask.measure.scores`, the comparison picture in
:mod:`unmask.measure.grid`. This module never prints. Array conventions: images HxWx3 uint8 RGB, masks HxW
uint8 with 255 = hole.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unmask.infer.censors import draw_censor, jpeg
from unmask.infer.crop import face_matrix
from unmask.infer.face.align import warp_to_crop
from unmask.infer.face.detect import Found
from unmask.infer.face.types import Face, box_iou
from unmask.measure.baselines import BASELINES, DEFAULT_SIZE, Baseline
from unmask.measure.metrics import hole_iou, l1_hole, psnr_hole, spill, ssim_box
from unmask.measure.resume import EvalState, report_mark
from unmask.measure.scores import EvalReport, EvalSettings, FaceScore, GridFace
from unmask.measure.skin import face_ita
from unmask.measure.texture import detail_ratio, hole_box_crop, tone_error
from unmask.spec import is_hole
from unmask.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from unmask.train.data.shards import FaceSet
    from unmask.infer.face.detect import FaceFinder
    from unmask.measure.metrics import LPIPS
    from unmask.infer.inpainter import Inpainter
    from unmask.infer.runtime import Model

MATCH_IOU = 0.3
"""A face found on the censored photo is the censored face when its box overlaps the clean one this much."""

SPILL_DISTANCE = 3
SPILL_LEVEL = 12
"""Spill counts pixels farther than this from the censor that changed by more than this many grey levels."""

NONE_BASELINE = "none"


class GivenFaces:
    """A stand-in for :class:`FaceFinder` handing the Restorer the faces already found on the censored photo."""

    def __init__(self) -> None:
        self.faces: list[Face] = []

    def search(self, rgb: np.ndarray) -> Found:
        return Found(list(self.faces))

    def close(self) -> None:
        pass


def match_face(faces: Iterable[Face], box: Sequence[float], min_iou: float = MATCH_IOU) -> Face | None:
    """The face of ``faces`` overlapping ``box`` most, if at least ``min_iou``."""
    best, best_iou = None, min_iou
    for f in faces:
        v = box_iou(f.box, box)
        if v >= best_iou:
            best, best_iou = f, v
    return best


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
    from unmask.infer.inputs import is_image_name

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    photos = sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p.name))
    return photos[:n] if n is not None else photos


def is_none_baseline(method: Any) -> bool:
    return (
        getattr(method, "name", None) == NONE_BASELINE
        and getattr(getattr(method, "meta", None), "arch", "") == "baseline"
    )


def evaluate(
    photos: Sequence[str | Path],
    methods: Mapping[str, "Inpainter"],
    settings: EvalSettings,
    lpips: "LPIPS | None" = None,
    finder: "FaceFinder | None" = None,
    kinds: Mapping[str, str] | None = None,
    on_photo: Callable[[int, int], None] | None = None,
    state: EvalState | None = None,
) -> EvalReport:
    """Censors, restores and scores the first ``settings.n`` of ``photos`` (in the order given) with every
    method (name -> inpainter: a :class:`unmask.infer.runtime.Model` or :class:`unmask.measure.baselines.Baseline`), see the
    module docstring. ``lpips``: an :class:`unmask.measure.metrics.LPIPS` (None: no LPIPS); ``finder``: a FaceFinder
    (made and closed here when None); ``kinds``: "model" / "baseline" per method for the report;
    ``on_photo(done, total)`` is called after each photo; ``state``: the journal of an interrupted run of the same
    key (:class:`unmask.measure.resume.EvalState`): its photos are replayed, not looked at again (nor reported
    to ``on_photo``), and each photo looked at is added to it."""
    photos = [Path(p) for p in photos][: settings.n]
    parents = {str(p.parent) for p in photos}
    own_finder = finder is None
    if finder is None:
        from unmask.infer.face.detect import FaceFinder

        finder = FaceFinder()
    try:
        return _evaluate(_photo_samples(photos, finder, state.done if state else ()), len(photos), lambda censored, face: match_face(finder.search(censored).faces, face.box),
                         methods, settings, lpips, kinds, on_photo, parents.pop() if len(parents) == 1 else "", state=state)  # fmt: skip
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
    state: EvalState | None = None,
) -> EvalReport:
    """:func:`evaluate` on the first ``settings.n`` faces of a training set made by ``unmask prepare``
    (:class:`unmask.train.data.shards.FaceSet`), without mediapipe: each aligned crop is the photo, and its stored
    landmarks place the censor (step 2) and are handed to the methods as the face (step 3 is skipped: landmarks
    from the clean face, not found again under the censor, so no face is lost and the censor finders are
    given the landmarks a detector would have on the clean face). Scores and ``state`` as :func:`evaluate`'s."""
    n = min(settings.n, len(faces))
    return _evaluate(_set_samples(faces, n, state.done if state else ()), n, lambda censored, face: face, methods,
                     settings, lpips, kinds, on_photo, str(faces.root), source="set", state=state)  # fmt: skip


def face_from_landmarks(landmarks: np.ndarray) -> Face:
    """A :class:`Face` (no detector keypoints) whose box is the extent of ``landmarks`` (478x2, pixels)."""
    lm = np.asarray(landmarks, np.float32)
    x0, y0 = lm.min(axis=0)
    x1, y1 = lm.max(axis=0)
    return Face((float(x0), float(y0), float(x1), float(y1)), lm)


_Sample = tuple[str, "np.ndarray | None", "Face | None"]
"""(name, the clean RGB image or None when unreadable, its face or None when none was found)."""


def _photo_samples(photos: Sequence[Path], finder: "FaceFinder", skip: Container[int] = ()) -> Iterator[_Sample]:
    """The photos read and their faces found, but for the places in ``skip`` (done already: not read)."""
    from unmask.infer.io import ImageError, read_image

    for i, path in enumerate(photos):
        if i in skip:
            yield path.name, None, None
            continue
        try:
            clean = read_image(path).rgb
        except ImageError:
            yield path.name, None, None
            continue
        faces = finder.search(clean).faces
        yield path.name, clean, faces[0] if faces else None


def _set_samples(faces: "FaceSet", n: int, skip: Container[int] = ()) -> Iterator[_Sample]:
    for i in range(n):
        done = i in skip  # not read again
        yield faces.names[i], None if done else faces.crop(i), None if done else face_from_landmarks(faces.landmarks(i))


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
    state: EvalState | None = None,
) -> EvalReport:
    """The loop of :func:`evaluate` over ``samples``; ``refind(censored, face)``: the face to hand the methods
    on the censored image (None: lost)."""
    from unmask.infer.pipeline import Restorer

    if not methods:
        raise UsageError("no method to evaluate")
    kinds = dict(kinds or {})
    for name, m in methods.items():
        kinds.setdefault(name, "baseline" if getattr(getattr(m, "meta", None), "arch", "") == "baseline" else "model")
    report = EvalReport(settings, list(methods), kinds, lpips=lpips is not None, data=data, source=source)
    given = GivenFaces()
    restorers = {
        name: Restorer(
            {settings.region: m},
            region=settings.region,
            finder=given,  # type: ignore[arg-type]
            keep_mosaic=settings.mosaic_means,
            flip_average=settings.flip_average,
            retouch=settings.retouch,
        )
        for name, m in methods.items()
        if kinds[name] != "baseline"
    }
    size = settings.lpips_size
    for index, (name, clean, face) in enumerate(samples):
        if state is not None and state.replay(index, report):
            continue  # looked at before an interrupt: its outcome and scores come from the journal
        mark = report_mark(report)
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
        if state is not None:
            state.add(index, name, report, mark)  # what this photo added to the report
        if on_photo is not None:
            on_photo(index + 1, total)
    return report


@dataclass
class _Output:
    """One method's result on the censored photo (``rgb``, HxWx3 uint8) and what restoring it already tells of its
    :class:`FaceScore`: ``known``, those fields by name (``outside``, ``seconds``, and where measured ``coverage``,
    ``iou``, ``spill``, ``found``), declared once, in :class:`FaceScore`."""

    rgb: np.ndarray
    known: dict[str, Any]


def _restore_all(
    methods: Mapping[str, Any], restorers: Mapping[str, Any], censored: np.ndarray, censor: np.ndarray
) -> dict[str, _Output]:
    outputs: dict[str, _Output] = {}
    for name, method in methods.items():
        if is_none_baseline(method):  # the censored photo itself
            outputs[name] = _Output(censored, dict(outside=0, seconds=0.0, spill=0.0))
            continue
        t0 = time.perf_counter()
        if name not in restorers:  # an OpenCV baseline, given the censor's true pixels at photo resolution
            rgb = method.inpaint_photo(censored, censor)
            seconds = time.perf_counter() - t0
            outputs[name] = _Output(
                rgb,
                dict(
                    outside=outside_changed(rgb, censored, censor),
                    seconds=seconds,
                    coverage=1.0,
                    iou=1.0,
                    spill=spill(rgb, censored, censor, SPILL_DISTANCE, SPILL_LEVEL),
                    found=True,
                ),
            )
            continue
        result = restorers[name].restore(censored, want_mask=True)
        seconds = time.perf_counter() - t0
        restored = result.hole if result.hole is not None else np.zeros(censor.shape, np.uint8)
        outputs[name] = _Output(
            result.rgb,
            dict(
                outside=outside_changed(result.rgb, censored, restored),
                seconds=seconds,
                coverage=hole_coverage(censor, restored),
                iou=hole_iou(restored, censor),
                spill=spill(result.rgb, censored, censor, SPILL_DISTANCE, SPILL_LEVEL),
                found=result.restored > 0,
            ),
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
    box_lpips, feats, truth_feats = _hole_boxes(clean, hole, outputs, lpips)
    skin = face_ita(clean, face.landmarks, hole)
    for name, o in outputs.items():
        report.faces.append(
            FaceScore(
                photo=photo,
                method=name,
                psnr=psnr_hole(o.rgb, clean, hole),
                ssim=ssim_box(o.rgb, clean, hole),
                l1=l1_hole(o.rgb, clean, hole),
                lpips=dists[name],
                hole_pixels=n_hole,
                **o.known,
                detail=detail_ratio(o.rgb, clean, hole),
                hole_lpips=box_lpips.get(name),
                tone=tone_error(o.rgb, clean, hole),
                ita=skin,
                features=feats.get(name),
                truth_features=truth_feats,
            )
        )
    if len(report.grid) < report.settings.grid_faces:
        report.grid.append(GridFace(photo, warp_to_crop(censored, m, size), crops, original))


def _hole_boxes(
    clean: np.ndarray, hole: np.ndarray, outputs: Mapping[str, _Output], lpips: "LPIPS | None"
) -> tuple[dict[str, float], dict[str, np.ndarray], np.ndarray | None]:
    """The censor's padded box (:func:`hole_box_crop`) of each output, its pixels outside the censor taken from
    ``clean`` (as :func:`ssim_box` does): each box's LPIPS to the clean box and the pooled features of every box
    (``lpips.pooled``). Returns (name -> LPIPS, name -> features, the clean box's features); ({}, {}, None)
    without ``lpips``."""
    if lpips is None:
        return {}, {}, None
    m = is_hole(hole)[..., None]
    truth = hole_box_crop(clean, hole)
    boxes = {name: hole_box_crop(np.where(m, o.rgb, clean), hole) for name, o in outputs.items()}
    names = list(boxes)
    d = lpips([truth] * len(names), [boxes[k] for k in names])
    f = lpips.pooled([truth, *(boxes[k] for k in names)])
    return {k: float(v) for k, v in zip(names, d)}, dict(zip(names, f[1:])), f[0]


# -- methods ---------------------------------------------------------------------------------------------------------
def build_methods(
    models: Sequence[str],
    baselines: Sequence[str],
    region: str,
    device: str = "auto",
    threads: int = 0,
) -> tuple[dict[str, Model | Baseline], dict[str, str], list[str]]:
    """Loads ``models`` (names or paths, :func:`unmask.infer.runtime.find_model`) and makes ``baselines``
    (:data:`unmask.measure.baselines.BASELINES`), the baselines at the first model's crop size (else 128 px).
    Returns (name -> inpainter, name -> kind, notes). Raises ``LookupError`` / ``ModelError`` /
    ``ValueError`` with one-line messages."""
    from unmask.infer.runtime import find_model, load_model

    methods: dict[str, Model | Baseline] = {}
    kinds: dict[str, str] = {}
    notes: list[str] = []
    for spec in models:
        m = load_model(find_model(spec, None), device, threads)
        if m.meta.region != region:
            notes.append(f"model {m.name} was trained for the {m.meta.region}; evaluating it on the {region}")
        if m.name in methods:
            raise UsageError(f"two methods named {m.name!r}")
        methods[m.name] = m
        kinds[m.name] = "model"
    size = next((int(m.size) for m in methods.values()), DEFAULT_SIZE)
    for b in baselines:
        if b not in BASELINES:
            raise UsageError(f"unknown baseline {b!r} (choose from {', '.join(BASELINES)})")
        if b in methods:
            raise UsageError(f"two methods named {b!r}")
        methods[b] = Baseline(b, size)
        kinds[b] = "baseline"
    return methods, kinds, notes
