"""One photo in, one result out: arrays in, arrays out, no printing, no files.

Faces are numbered in reading order (:mod:`unmask.infer.face.choose`), those found too small or beyond ``max_faces``
too, and the user's choice (``choose``) picks among them. For each chosen face: decide the region (given, or ``auto`` from the pixels),
align the face to the model's canonical crop fitting only the landmarks that region does not cover, find the
censor itself in the photo (:func:`unmask.infer.censors.find.find_occluder`; the landmarks only say where to look) or
take the user's mask, run the model on all faces of the photo in one batch with the hole = the censor plus a
pixel or two, and paste back only that hole, at photo resolution. A face where nothing covers the region is
left untouched (``force`` restores the landmark region anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from unmask.infer.censors import Occluder
from unmask.infer.censors.find import find_occluder, landmark_occluder, user_occluder
from unmask.infer import regions
from unmask.infer.compose import hole_alpha, paste_in_box
from unmask.errors import ModelNotFound
from unmask.edges import EdgeGuide
from unmask.infer.crop import align, align_checked
from unmask.infer.face.align import Aligned, matrix_scale, warp_to_crop
from unmask.infer.face.choose import Choice, reading_order
from unmask.infer.face.detect import FaceFinder, Found
from unmask.infer.face.types import Face
from unmask.infer.flip import FlipAveraged
from unmask.infer.inpainter import Inpainter
from unmask.infer.deblur import keep_blur
from unmask.infer.mosaic import keep_block_means, mosaic_from_lattice
from unmask.infer.stages import ALIGN, CENSOR, DETECT, GENERATOR, PASTE, timed
from unmask.spec import AUTO, HOLE, MAX_FACES, MIN_FACE, REGIONS, RUN_REGIONS, is_hole
from unmask.infer.closing import Closing

AUTO_SIZE = 128  # crop side at which ``auto`` aligns a face for a region it has no model for
RING = 0.08  # width of the colour-matching ring around a hole, in inter-ocular distances


@dataclass
class FaceReport:
    box: tuple[float, float, float, float]
    score: float
    region: str | None
    decision: str
    status: str  # "restored", "clean" (auto found nothing covered), "not-covered" (no censor over the region), "outside-mask", "skipped"
    model: str = ""
    index: int | None = None  # the face's number in reading order (unmask.infer.face.choose), as the report shows it

    def to_dict(self) -> dict:
        return {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 3),
            "region": self.region,
            "decision": self.decision,
            "status": self.status,
            "model": self.model,
            "index": self.index,
        }


@dataclass
class Result:
    """``rgb``: the restored photo (HxWx3 uint8, a new array); ``faces``: one report per face found, in reading
    order (``index``), those skipped too (status ``skipped``: too small, beyond ``max_faces``, not chosen);
    ``hole``: HxW uint8 union of the restored holes in photo pixels (only with ``want_mask``);
    ``too_small``, ``beyond``: faces skipped for ``min_face`` and ``max_faces``; ``timings``: seconds per stage."""

    rgb: np.ndarray
    faces: list[FaceReport]
    hole: np.ndarray | None = None
    too_small: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    beyond: int = 0

    @property
    def restored(self) -> int:
        return sum(f.status == "restored" for f in self.faces)

    @property
    def regions(self) -> list[str]:
        return sorted({f.region for f in self.faces if f.status == "restored" and f.region})


@dataclass
class FaceJob:
    """One face to restore: where its censor is (``occluder``, photo pixels), the face aligned for the model
    (``aligned``), the hole in that crop (``hole``) and the model (``model_key``, a key of ``Restorer.models``)."""

    face: Face
    region: str
    decision: str
    aligned: Aligned
    occluder: Occluder
    hole: np.ndarray  # in the crop, for the model
    model_key: str
    guide: EdgeGuide | None = None
    index: int | None = None  # the face's number in reading order


class Restorer(Closing):
    """Restores censored faces in photos.

    ``models``: inpainter per region (``{"eyes": m1, "mouth": m2}``); ``region``: "eyes", "mouth" or "auto".
    With ``auto`` each face's covered region is decided from its pixels and faces with nothing covered are
    left as they are. ``finder``: a :class:`FaceFinder` (made here when None; closed by :meth:`close`).
    ``keep_mosaic``: where the censor is a mosaic, the restored blocks keep the mosaic's block means
    (:mod:`unmask.infer.mosaic`), and where it is a blur, the restored pixels blurred again match it
    (:mod:`unmask.infer.deblur`). ``force``: where no censor is found over the region, restore the landmark region
    anyway (default: leave the face untouched and say so). ``choose``: which faces to restore
    (:class:`unmask.infer.face.choose.Choice`: numbers in reading order, or the largest; default all).
    ``flip_average``: each model's result averaged with its result on the mirrored face
    (:mod:`unmask.infer.flip`: twice the generator's work, a little closer to the hidden truth). ``retouch``: paste
    as a retoucher would: the fill's grain topped up to half the photo's (:func:`unmask.infer.compose.grain_for`;
    the tone field is always on).
    """

    def __init__(
        self,
        models: Mapping[str, Inpainter],
        region: str = "eyes",
        max_faces: int = MAX_FACES,
        min_face: int = MIN_FACE,
        finder: FaceFinder | None = None,
        keep_mosaic: bool = True,
        force: bool = False,
        choose: Choice | None = None,
        flip_average: bool = True,
        retouch: bool = True,
    ) -> None:
        if region not in RUN_REGIONS:
            raise ValueError(f"unknown region {region!r} (choose from {', '.join(RUN_REGIONS)})")
        if region != AUTO and region not in models:
            raise ValueError(f"no model for region {region!r}")
        if not models:
            raise ValueError("no model given")
        self.models = dict(models)
        self.region = region
        self.finder = finder or FaceFinder(max_faces=max_faces, min_face=min_face)
        self._own_finder = finder is None
        self.keep_mosaic = keep_mosaic
        self.force = force
        self.choose = choose or Choice()
        self.flip_average = flip_average
        self.retouch = retouch

    def close(self) -> None:
        if self._own_finder:
            self.finder.close()

    # -- the steps ------------------------------------------------------------------------------------------------
    def locate(self, rgb: np.ndarray, face: Face, region: str | None = None, first: str | None = None,
               timings: dict[str, float] | None = None) -> tuple[str, str, Aligned, Occluder] | FaceReport:  # fmt: skip
        """Where ``face`` is censored: (region, decision, the face aligned for that region's model, the censor at
        photo resolution), or the report of a face left untouched. ``auto`` looks for an eye censor (a mosaic,
        then a bar) and then for a mask, and takes the first found: a censor, not the look of the face, decides;
        a region requested by name is searched alone. ``region`` (with ``auto``) searches that region alone;
        ``first``: the censor kind tried first (:func:`unmask.infer.censors.find.find_occluder`); ``timings`` gains
        the seconds of :data:`~unmask.infer.stages.ALIGN` and :data:`~unmask.infer.stages.CENSOR`."""
        timings = {} if timings is None else timings
        regions = [region] if region else list(REGIONS) if self.region == AUTO else [self.region]
        tried = []
        for region in regions:
            model = self.models.get(region)
            with timed(timings, ALIGN):
                aligned, on_keypoints = align_checked(rgb, face, model.size if model else AUTO_SIZE, region)
            with timed(timings, CENSOR):
                occ = find_occluder(rgb, aligned.matrix, aligned.size, region, first)
            if model is None:  # auto, and no model for this region: say what covers the face
                if occ is not None:
                    why = f"a {occ.kind} censor over the {region} (no {region} model)"
                    return FaceReport(face.box, face.score, region, why, "clean")
                tried.append(region)
                continue
            note = "; landmarks disagreed with the detector, aligned on its keypoints" if on_keypoints else ""
            asked = AUTO if self.region == AUTO else f"region {region} requested"
            if occ is not None:
                return region, f"{asked}: found a {occ.kind} censor ({occ.area} px){note}", aligned, occ
            tried.append(region)
            if self.force and self.region != AUTO:
                with timed(timings, CENSOR):
                    occ = landmark_occluder(rgb, aligned, region)
                return region, f"{asked}: no censor found; restored the landmark region (--force){note}", aligned, occ
        if self.region == AUTO:
            return FaceReport(
                face.box, face.score, None, f"nothing covered (no censor found over the {' or '.join(tried)})", "clean"
            )
        region = self.region
        why = f"region {region} requested: no censor found over the {region}: left untouched (--force restores the {region} region anyway)"
        return FaceReport(face.box, face.score, region, why, "not-covered")

    def restore(
        self,
        rgb: np.ndarray,
        user_mask: np.ndarray | None = None,
        want_mask: bool = False,
        edges: EdgeGuide | None = None,
    ) -> Result:
        """Restores every face of ``rgb`` (HxWx3 uint8). ``user_mask`` (HxW uint8, 255 = hole) replaces the
        landmark-built holes: each face is restored where the user's mask meets its crop. ``edges`` (photo
        pixels): the user's edges for the holes, followed by models that take them (``Model.takes_edges``;
        others raise ``ValueError``)."""
        if edges is not None:
            if edges.edges.shape != rgb.shape[:2]:
                raise ValueError(
                    f"edge map is {edges.edges.shape[1]}x{edges.edges.shape[0]}, the photo {rgb.shape[1]}x{rgb.shape[0]}"
                )
            blind = [k for k, m in self.models.items() if not m.takes_edges]
            if blind:
                raise ValueError(
                    f"model {self.models[blind[0]].name} cannot follow given edges (use an EdgeConnect model)"
                )
        timings: dict[str, float] = {}
        with timed(timings, DETECT):
            found = self.finder.search(rgb)
        chosen, reports = self.survey(found)
        jobs: list[FaceJob] = []
        for index, face in chosen:
            if user_mask is not None:
                key = self.region if self.region != AUTO else next(iter(self.models))
                planned = self._user_job(rgb, face, user_mask, key, timings)
                if planned is None:
                    planned = FaceReport(face.box, face.score, None, "outside the user's mask", "outside-mask")
            else:
                planned = self.plan(rgb, face, timings=timings)
            planned.index = index
            (reports if isinstance(planned, FaceReport) else jobs).append(planned)
        out, painted, hole_img = self.paint(rgb, jobs, want_mask=want_mask, edges=edges, timings=timings)
        reports += painted
        reports.sort(key=lambda r: r.index)
        return Result(out, reports, hole_img, len(found.too_small), timings, len(found.beyond))

    def survey(self, found: Found) -> tuple[list[tuple[int, Face]], list[FaceReport]]:
        """Every face of ``found`` numbered in reading order: (number, face) for those to restore, and a report
        (status ``skipped``) for those left out: too small, beyond ``max_faces``, or not chosen (:attr:`choose`)."""
        min_face, max_faces = getattr(self.finder, "min_face", 0), getattr(self.finder, "max_faces", 0)
        entries: list[tuple[tuple[float, float, float, float], float, Face | None, str | None]] = [
            *((f.box, f.score, f, None) for f in found.faces),
            *((f.box, f.score, None, f"beyond the {max_faces} largest faces (--max-faces {max_faces})") for f in found.beyond),
            *((b, score, None, f"too small ({max(b[2] - b[0], b[3] - b[1]):.0f} px; --min-face {min_face})")
              for b, score in found.too_small),
        ]  # fmt: skip
        restorable = [f.box for f in found.faces]
        chosen: list[tuple[int, Face]] = []
        skipped: list[FaceReport] = []
        for index, k in enumerate(reading_order([e[0] for e in entries])):
            box, score, face, why = entries[k]
            why = why or self.choose.why_not(index, box, restorable)
            if why is None:
                chosen.append((index, face))
            else:
                skipped.append(FaceReport(box, score, None, why, "skipped", index=index))
        return chosen, skipped

    def plan(
        self,
        rgb: np.ndarray,
        face: Face,
        region: str | None = None,
        first: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> FaceJob | FaceReport:
        """:meth:`locate` as a job for :meth:`paint` (the hole warped into the face's crop), or the report of a
        face left untouched; ``timings``: as :meth:`locate`'s (the hole's warp counts as censor finding)."""
        timings = {} if timings is None else timings
        located = self.locate(rgb, face, region, first, timings)
        if isinstance(located, FaceReport):
            return located
        region, decision, aligned, occ = located
        with timed(timings, CENSOR):
            hole = occ.crop_hole(aligned.matrix, aligned.size)
        return FaceJob(face, region, decision, aligned, occ, hole, region)

    def paint(
        self,
        rgb: np.ndarray,
        jobs: list[FaceJob],
        *,
        want_mask: bool = False,
        edges: EdgeGuide | None = None,
        timings: dict[str, float] | None = None,
        adjust: Callable[[list[FaceJob], list[np.ndarray]], list[np.ndarray]] | None = None,
        reuse: Callable[[FaceJob], np.ndarray | None] | None = None,
        flip: bool | None = None,
        retouch: bool | None = None,
    ) -> tuple[np.ndarray, list[FaceReport], np.ndarray | None]:
        """Runs the models on ``jobs`` (batched per model) and pastes each result into a copy of ``rgb``, in the
        job's hole only. Returns (restored photo, one report per job, union of the holes when ``want_mask``).
        ``reuse(job)`` may give a job's crop instead of the model (the video path, for a face that did not change
        since the last frame); ``adjust(jobs, crops)`` may replace the crops before they are pasted (it blends them
        over time); ``flip``: flip averaging (None: the restorer's ``flip_average``); ``retouch``: grain (None: the
        restorer's ``retouch``); ``timings`` gains :data:`~unmask.infer.stages.GENERATOR` and
        :data:`~unmask.infer.stages.PASTE`."""
        timings = {} if timings is None else timings
        out = rgb.copy()
        reports: list[FaceReport] = []
        hole_img = np.zeros(rgb.shape[:2], np.uint8) if want_mask else None
        flip = self.flip_average if flip is None else flip
        retouch = self.retouch if retouch is None else retouch
        if edges is not None:
            for j in jobs:
                j.guide = guide_to_crop(edges, j.aligned.matrix, j.aligned.size)
        for key in dict.fromkeys(j.model_key for j in jobs):
            batch = [j for j in jobs if j.model_key == key]
            model = self.models[key]
            runner = FlipAveraged(model) if flip else model
            given = [None if reuse is None else reuse(j) for j in batch]
            todo = [j for j, g in zip(batch, given) if g is None]
            crops, holes = [j.aligned.crop for j in todo], [j.hole for j in todo]
            with timed(timings, GENERATOR):
                if not todo:
                    ran = []
                elif edges is None:
                    ran = runner.run(crops, holes)
                else:
                    ran = runner.run(crops, holes, [j.guide for j in todo])
            fresh = iter(ran)
            outputs = [g if g is not None else next(fresh) for g in given]
            if adjust is not None:
                outputs = adjust(batch, outputs)
            with timed(timings, PASTE):
                for j, crop_out in zip(batch, outputs):
                    occ = j.occluder
                    hole, alpha = hole_alpha(occ.mask, occ.margin)
                    ring = max(3, int(round(RING * occ.iod)))
                    level = regions.get(j.region).grain if retouch else 0.0
                    paste_in_box(out, crop_out, j.aligned.matrix, occ.box, hole, alpha, ring, grain=level)
                    mosaic = mosaic_from_lattice(rgb, occ) if self.keep_mosaic and occ.lattice is not None else None
                    if mosaic is not None:
                        keep_block_means(out, mosaic, original=rgb)
                        j.decision += f"; kept the means of {len(mosaic)} mosaic blocks"
                    if self.keep_mosaic and occ.blur is not None:  # a blur: what it left, blurred back, is kept
                        keep_blur(out, occ, original=rgb)
                        j.decision += f"; kept what the blur left ({occ.blur.describe()})"
                    if hole_img is not None:
                        x0, y0, x1, y1 = occ.box
                        hole_img[y0:y1, x0:x1] |= hole
                    reports.append(
                        FaceReport(j.face.box, j.face.score, j.region, j.decision, "restored", model.name, j.index)
                    )
        return out, reports, hole_img

    def _user_job(
        self, rgb: np.ndarray, face: Face, user_mask: np.ndarray, key: str, timings: dict[str, float]
    ) -> FaceJob | None:
        model = self.models[key]
        with timed(timings, ALIGN):
            aligned = align(rgb, face, model.size, None)
        with timed(timings, CENSOR):
            occ = user_occluder(user_mask, aligned)
            if occ is None:
                return None
            hole = occ.crop_hole(aligned.matrix, aligned.size)
        return FaceJob(face, key, "user mask", aligned, occ, hole, key)


def load_models(model: str | None, region: str, device: str = "auto", threads: int = 0) -> dict:
    """The models a :class:`Restorer` needs, keyed by region (``auto`` is read in this module only: here and in
    :meth:`Restorer.locate`).

    With ``model`` (a name or path): that model, for ``region`` (for ``auto``: for the region it was trained
    for). Without: the default model of ``region`` for ``device`` (:func:`unmask.infer.runtime.load_default`: on a CPU,
    its int8 model where that measures as good), or for ``auto`` the default of each region that has one.
    Raises ``LookupError`` / :class:`unmask.infer.runtime.ModelError` / ``DeviceError`` with one-line messages."""
    from unmask.infer.runtime.model import load_model
    from unmask.infer.runtime.registry import find_model, load_default

    if model:
        m = load_model(find_model(model, None), device, threads)
        return {m.meta.region if region == AUTO else region: m}
    regions = REGIONS if region == AUTO else (region,)
    models = {}
    for r in regions:
        try:
            models[r] = load_default(r, device, threads)
        except LookupError:
            if region != AUTO:
                raise
    if not models:
        raise ModelNotFound(f"no model installed for {' or '.join(REGIONS)}: see `unmask models`, or pass --model PATH")
    return models


def guide_to_crop(guide: EdgeGuide, matrix: np.ndarray, size: int) -> EdgeGuide:
    """A user's edge map (photo pixels) warped into a face's crop (``matrix``: photo -> crop, side ``size``).
    Strokes are first widened to two crop pixels' worth of photo pixels, so a thin line drawn on a large photo
    still covers whole crop pixels after the (area-averaging) shrink, and stays unbroken."""
    import cv2

    edges = guide.edges
    k = int(np.ceil(2.0 / max(matrix_scale(matrix), 1e-6)))
    if k > 2:
        edges = cv2.dilate(edges, np.ones((k, k), np.uint8))
    warped = warp_to_crop(edges, matrix, size)
    where = warp_to_crop(guide.where, matrix, size)
    return EdgeGuide(
        np.where(is_hole(warped), HOLE, 0).astype(np.uint8), np.where(is_hole(where), HOLE, 0).astype(np.uint8)
    )
