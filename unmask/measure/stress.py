"""The stress benchmark (issue 31): censors drawn by code other than the finders', on faces in other light and
framing, restored through the same path as ``unmask PHOTO --region R``.

For each censor kind of :data:`unmask.measure.stress_draw.DRAW` and each of the first ``n`` photos of a folder
(sorted by name) with one face found on it:

1. the photo's light and colour are shifted so the skin's apparent tone changes (:func:`~unmask.measure.stress_draw.
   tone_shift`, on :data:`TONE_SHARE` of the faces) and, on :data:`CLOSEUP_SHARE` of them, it is cropped to a close-up
   where the face fills the frame (:func:`~unmask.measure.stress_draw.closeup`; the face is found again on the crop);
2. the censor is drawn with :mod:`unmask.measure.stress_draw` from ``numpy.random.default_rng((seed, kind, index))``,
   and the photo goes through JPEG at a quality in :data:`JPEG_QUALITY` (:data:`JPEG_SHARE` of the photos);
3. the face is found again on the censored photo (not found: ``lost``, it counts as not found) and restored by a
   :class:`unmask.infer.pipeline.Restorer` asked for the region the censor hides (default models).

Per kind: ``found``, the share of faces on which the finder of that kind found the censor; ``left``, the censor's
pixels outside the restored hole over all the censor's pixels, on the faces found; ``spill``
(:func:`unmask.measure.metrics.spill`: pixels farther than 3 px from the censor changed by more than 12 grey
levels, per censor pixel), mean over the faces found. A kind with no finder yet (``blur`` before its finder lands)
scores 0 found. Numbers only: the targets live in ``benchmarks/stress.py``. Never prints. Arrays: HxWx3 uint8 RGB;
masks HxW uint8, 255 = censor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unmask.infer.censors import jpeg
from unmask.measure.evaluate import GivenFaces, list_photos, match_face
from unmask.measure.metrics import spill
from unmask.measure.stress_draw import DRAW, closeup, frame, tone_shift
from unmask.spec import is_hole

if TYPE_CHECKING:  # pragma: no cover
    from unmask.infer.face.detect import FaceFinder
    from unmask.infer.face.types import Face
    from unmask.infer.inpainter import Inpainter

TONE_SHARE = 0.75
CLOSEUP_SHARE = 0.5
JPEG_SHARE = 0.8
JPEG_QUALITY = (75, 96)
SPILL_DISTANCE = 3
SPILL_LEVEL = 12
"""Spill counts pixels farther than this from the censor that changed by more than this many grey levels (as
``unmask eval``)."""
LEFT_FACE = 0.01
"""A face counts in ``faces_left`` when more than this share of its censor is left outside the hole."""

_FOUND = re.compile(r"found an? ([\w-]+) censor")
FOUND_AS = {"blur": ("blur", "blur-mouth")}
"""The finders' kinds that count as finding a drawn kind (a drawn blur over nose and mouth is found as
``blur-mouth``); any other kind is found as itself."""


@dataclass
class FaceRecord:
    """One censored face: ``photo``, ``kind``, ``variant`` (``photo`` or ``closeup``), ``region`` restored,
    ``found_kind`` (the kind the finders found; None: nothing), ``censor`` px, ``left`` px, ``spill``, ``status``
    (``found``, ``missed``, ``wrong-kind``, ``lost``: the face was not found again under the censor)."""

    photo: str
    kind: str
    variant: str
    region: str
    status: str
    censor: int
    left: int = 0
    spill: float = 0.0
    found_kind: str | None = None
    seconds: float = 0.0


@dataclass
class KindScore:
    """What one kind scored: ``faces`` censored, ``found`` share, ``lost`` (face not found again), ``left`` share
    of the censor pixels left on the faces found, ``faces_left`` (faces found with more than :data:`LEFT_FACE` of
    their censor left), ``spill`` mean and worst on the faces found, and ``found`` per variant."""

    kind: str
    faces: int
    found: float
    lost: int
    wrong_kind: int
    left: float
    faces_left: int
    spill: float
    spill_max: float
    by_variant: dict[str, float]


@dataclass
class StressReport:
    data: str
    n: int
    seed: int
    kinds: list[str]
    records: list[FaceRecord] = field(default_factory=list)
    skipped: int = 0  # photos without exactly one face on the clean photo (or its close-up)
    seconds: float = 0.0

    def score(self, kind: str) -> KindScore:
        rec = [r for r in self.records if r.kind == kind]
        found = [r for r in rec if r.status == "found"]
        censor = sum(r.censor for r in found)
        by_variant = {v: _share([r for r in rec if r.variant == v]) for v in ("photo", "closeup")}
        return KindScore(
            kind, len(rec), _share(rec),
            sum(r.status == "lost" for r in rec), sum(r.status == "wrong-kind" for r in rec),
            sum(r.left for r in found) / censor if censor else 1.0,
            sum(r.left > LEFT_FACE * r.censor for r in found),
            float(np.mean([r.spill for r in found])) if found else 0.0,
            max((r.spill for r in found), default=0.0), by_variant,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "data": self.data, "n": self.n, "seed": self.seed, "skipped": self.skipped,
            "seconds": round(self.seconds, 1), "kinds": {k: asdict(self.score(k)) for k in self.kinds},
            "faces": [asdict(r) for r in self.records],
        }  # fmt: skip


def _share(rec: Sequence[FaceRecord]) -> float:
    return sum(r.status == "found" for r in rec) / len(rec) if rec else 0.0


def region_of(censor: np.ndarray, pts: np.ndarray) -> str:
    """The region a censor (HxW uint8) on a face with landmarks ``pts`` hides: ``eyes`` when its centre is nearer
    the eye line than the mouth, else ``mouth``."""
    ys, xs = np.nonzero(censor)
    c, _, n, d = frame(pts)
    below = (np.array([xs.mean(), ys.mean()]) - c) @ n
    return "eyes" if below < 0.6 * d else "mouth"


def stage(clean: np.ndarray, face: "Face", finder: "FaceFinder", kind: str,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, "Face", str] | None:  # fmt: skip
    """Steps 1 and 2 for one face: (censored photo, censor mask, the face on the photo censored, variant), or
    None when the close-up holds no single face."""
    img, pts, variant = clean, face.landmarks, "photo"
    if rng.random() < TONE_SHARE:
        img = tone_shift(img, rng)
    if rng.random() < CLOSEUP_SHARE:
        img = closeup(img, pts, rng)
        faces = finder.search(img).faces
        if len(faces) != 1:
            return None
        face, variant = faces[0], "closeup"
    censored, censor = DRAW[kind](img, face.landmarks, rng)
    if rng.random() < JPEG_SHARE:
        censored = jpeg(censored, int(rng.integers(*JPEG_QUALITY)))
    return censored, censor, face, variant


def run_stress(
    data: str | Path,
    models: Mapping[str, "Inpainter"],
    finder: "FaceFinder",
    n: int = 50,
    seed: int = 0,
    kinds: Sequence[str] = tuple(DRAW),
    on_face: Callable[[int, int], None] | None = None,
) -> StressReport:
    """The benchmark on the first photos of ``data`` with one face each, ``n`` faces per kind; ``models``: region
    -> generator (both regions); ``finder``: the face detector. ``on_face(done, total)`` after each face."""
    from unmask.infer.io import read_image
    from unmask.infer.pipeline import Restorer

    unknown = [k for k in kinds if k not in DRAW]
    if unknown:
        raise ValueError(f"unknown stress kind {unknown[0]!r} (choose from {', '.join(DRAW)})")
    report = StressReport(str(data), n, seed, list(kinds))
    given = GivenFaces()
    restorers = {r: Restorer({r: m}, region=r, finder=given) for r, m in models.items()}  # type: ignore[arg-type]
    t_start = time.perf_counter()
    photos = list_photos(data)
    for ki, kind in enumerate(kinds):
        done = 0
        for index, path in enumerate(photos):
            if done >= n:
                break
            rng = np.random.default_rng((seed, list(DRAW).index(kind), index))  # the same faces whatever kinds run
            clean = read_image(path).rgb
            faces = finder.search(clean).faces
            staged = stage(clean, faces[0], finder, kind, rng) if len(faces) == 1 else None
            if staged is None:
                report.skipped += 1
                continue
            report.records.append(_restore_one(path.name, kind, *staged, finder, given, restorers))
            done += 1
            if on_face is not None:
                on_face(ki * n + done, n * len(kinds))
    for r in restorers.values():
        r.close()
    report.seconds = time.perf_counter() - t_start
    return report


def status_of(decision: str | None, kind: str) -> tuple[str, str | None]:
    """(status, kind found) of a face censored with ``kind`` whose restoration said ``decision`` (None: not
    restored): ``found`` when the finders found ``kind`` (or a kind of :data:`FOUND_AS`), ``wrong-kind`` when they
    found another, ``missed`` when none."""
    m = _FOUND.search(decision) if decision else None
    if m is None:
        return "missed", None
    return ("found" if m.group(1) in FOUND_AS.get(kind, (kind,)) else "wrong-kind"), m.group(1)


def _restore_one(photo: str, kind: str, censored: np.ndarray, censor: np.ndarray, face: "Face", variant: str,
                 finder: "FaceFinder", given: GivenFaces, restorers: Mapping[str, Any]) -> FaceRecord:  # fmt: skip
    region = region_of(censor, face.landmarks)
    total = int(np.count_nonzero(censor))
    rec = FaceRecord(photo, kind, variant, region, "lost", total)
    match = match_face(finder.search(censored).faces, face.box)
    if match is None:
        return rec
    given.faces = [match]
    t0 = time.perf_counter()
    result = restorers[region].restore(censored, want_mask=True)
    rec.seconds = time.perf_counter() - t0
    report = result.faces[0] if result.faces else None
    rec.status, rec.found_kind = status_of(report.decision if report is not None and report.status == "restored"
                                           else None, kind)  # fmt: skip
    if rec.found_kind is not None:
        hole = result.hole if result.hole is not None else np.zeros(censor.shape, np.uint8)
        rec.left = int(np.count_nonzero(is_hole(censor) & ~is_hole(hole)))
        rec.spill = spill(result.rgb, censored, censor, SPILL_DISTANCE, SPILL_LEVEL)
    return rec


def table(report: StressReport) -> str:
    """The report as a Markdown table, one row per kind."""
    head = "| kind | faces | found | close-ups found | lost | wrong kind | censor px left | faces >1% left | spill |"
    rows = [head + " worst spill |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for k in report.kinds:
        s = report.score(k)
        rows.append(f"| {k} | {s.faces} | {s.found:.0%} | {s.by_variant['closeup']:.0%} | {s.lost} | {s.wrong_kind} | "
                    f"{s.left:.2%} | {s.faces_left} | {s.spill:.3f} | {s.spill_max:.3f} |")  # fmt: skip
    return "\n".join(rows)


__all__ = ["FaceRecord", "KindScore", "StressReport", "region_of", "run_stress", "stage", "status_of", "table"]
