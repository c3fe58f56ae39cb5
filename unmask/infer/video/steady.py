"""The frames of one video restored in order, faces steady over time (the per-frame policy).

:class:`VideoRestorer` restores frames in order through the photo path's own steps
(:meth:`unmask.infer.pipeline.Restorer.plan` finds each face's censor, :meth:`~unmask.infer.pipeline.Restorer.paint` runs the
generator and pastes the hole), adding what a sequence needs so the restored faces do not flicker:

* faces are followed by :class:`unmask.infer.video.track.Tracker` and their landmarks smoothed (One-Euro), so the crop
  the generator sees, and where its result is pasted, do not jitter;
* the hole given to the generator is the censor of this frame joined with last frame's, in the face's crop, so a
  pixel on the censor's edge does not switch between known and invented from frame to frame (only this frame's
  censor is pasted);
* the generator's crop is blended with the previous frame's (:data:`BLEND`, less as the face itself changes:
  :data:`BLEND_CHANGE`); the crops are aligned faces, so this averages the same face point over time; a face that
  barely changed gets the previous crop again without a generator run, on two frames in a row at most
  (:data:`REUSE_CHANGE`, :data:`REUSE_RUN`);
* ``auto`` keeps a face's region until another region's censor is found on :data:`SWITCH_FRAMES` frames in a row;
* a censor the finder misses on a frame is carried along with the face for up to :data:`HOLD_FRAMES` frames, but
  only while the pixels under it still match the censor last found (:data:`HOLD_DIFF`): a censor that really went
  away is not painted over.

Each face is numbered by its track (:attr:`unmask.infer.video.track.Tracker.numbered`), and the restorer's choice
(``Restorer.choose``: ``--faces`` by those numbers, ``--largest`` among each frame's faces) applies on every
frame: a face left out is reported ``skipped`` and left as it is, as a photo's would be.

``steady=False`` restores each frame on its own, as ``unmask PHOTO`` would: the baseline the flicker metric is
compared with (:mod:`unmask.measure.flicker`). Arrays only: the file job (threads, temporary files, provenance) is
:mod:`unmask.infer.video.restore`. Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from unmask.infer.censors import Occluder
from unmask.infer.censors.find import disc
from unmask.infer.crop import align_checked
from unmask.infer.face.choose import reading_order
from unmask.infer.face.detect import FaceFinder
from unmask.infer.face.types import Face
from unmask.infer.forward import Forwarded
from unmask.infer.pipeline import FaceJob, FaceReport, Restorer
from unmask.infer.stages import CENSOR, DETECT, GENERATOR, PASTE, timed
from unmask.infer.video.settings import VideoSettings
from unmask.infer.video.track import Tracker
from unmask.infer.closing import Closing

BLEND = 0.5
"""Weight of the previous frame's generator crop in this frame's, for a face that did not change."""

BLEND_CHANGE = 12.0
"""Mean change (grey levels) of a face's known crop pixels since the previous frame at which that frame's crop no
longer counts (the face turned, spoke, the light changed): the weight falls linearly from :data:`BLEND` to 0."""

REUSE_CHANGE = 12.0
"""A face whose known crop pixels changed by less than this (mean, grey levels) since the previous frame gets that
frame's generator crop again instead of a new run (aligned crops: it moves with the face); on at most
:data:`REUSE_RUN` frames in a row, so a slow change is still followed. A face moving under a bar changes its smoothed
crop by about 7 grey levels a frame, so most faces reuse: with one frame in a row (stop 12) the suite's 1.2 s clips
kept the hole PSNR of a new run on every frame (16.65 / 19.61 / 16.69 dB on bar / mosaic / mask, 16.66 / 19.57 /
16.66 with a threshold of 3, which let almost no frame reuse) for 13 of 30 generator runs saved; two in a row: see
:data:`REUSE_RUN`."""

REUSE_RUN = 2
"""Frames in a row that may reuse a generator crop. 2 rather than 1 took the 720p bench clip from 7.7 to 9.2 fps
with detections in their own thread; on the suite's 1.2 s clips the hole PSNR moved 16.66 -> 16.58 / 19.57 -> 19.56 /
16.68 -> 16.68 dB (bar / mosaic / mask) and the flicker ratio 0.628 -> 0.631 / 0.670 -> 0.678 / 0.547 -> 0.556."""

SWITCH_FRAMES = 3
"""Frames in a row on which ``auto`` must find another region's censor (or none) before a face's region changes."""

HOLD_FRAMES = 3
"""Frames a censor the finder misses is carried along with its face."""

HOLD_DIFF = 12.0
"""Largest median difference (grey levels) between the pixels inside a carried censor and the censor last found."""

HOLD_INSET = 0.05
"""How far inside a carried censor's edge (inter-ocular distances) its pixels are compared."""


@dataclass
class FrameResult:
    """One restored frame: ``rgb`` (a new array), one report per face, the union of the restored holes (with
    ``want_mask``), and ``faces``: faces seen in the frame."""

    rgb: np.ndarray
    reports: list[FaceReport]
    hole: np.ndarray | None
    faces: int

    @property
    def restored(self) -> int:
        return sum(r.status == "restored" for r in self.reports)


@dataclass
class _FaceState:
    """What a tracked face carries from one frame to the next."""

    region: str | None = None  # auto: the region held
    votes: int = 0  # frames in a row that disagreed with ``region``
    job: FaceJob | None = None  # last frame's restored job
    patch: np.ndarray | None = None  # the input pixels over that job's censor box
    held: int = 0  # frames the censor has been carried
    crop_hole: np.ndarray | None = None  # last frame's own hole in the crop
    crop_in: np.ndarray | None = None  # last frame's crop (float32)
    crop_out: np.ndarray | None = None  # last frame's blended generator crop (float32)
    reused: int = 0  # frames in a row that reused it
    model_key: str = ""


def _not_chosen(restorer: Restorer, index: int, box: tuple[float, ...], boxes: list) -> str | None:
    """Why face ``index`` is left out by the user's choice (``--faces``, ``--largest``: among this frame's
    ``boxes``), or None."""
    choose = getattr(restorer, "choose", None)
    return None if choose is None else choose.why_not(index, box, boxes)


class VideoRestorer(Closing):
    """Restores the frames of one video, in order (see the module docstring). ``timings`` sums seconds per stage
    (detect, censor, generator, paste) over the frames so far."""

    beyond = Forwarded(
        "tracker", "Most faces found in one frame beyond ``--max-faces`` (left untouched; the largest are followed)."
    )
    numbered = Forwarded(
        "tracker", "Faces numbered so far (track numbers 0 to this, in the order they were first seen)."
    )

    def __init__(self, restorer: Restorer, settings: VideoSettings | None = None, want_mask: bool = False) -> None:
        self.restorer = restorer
        self.settings = settings or VideoSettings()
        self.want_mask = want_mask
        finder = restorer.finder
        spare = (
            partial(FaceFinder, finder.max_faces, finder.min_face, second_look=False)
            if self.settings.detect_aside
            else None
        )
        self.tracker = Tracker(finder, self.settings.detect_every, smooth=True, spare=spare)
        self.states: dict[int, _FaceState] = {}
        self.timings: dict[str, float] = {}

    def close(self) -> None:
        """Stops the tracker's detection thread (see :class:`unmask.infer.video.track.Tracker`)."""
        self.tracker.close()

    def step(self, rgb: np.ndarray, t: float) -> FrameResult:
        """Restores ``rgb`` (HxWx3 uint8, upright) shown at ``t`` seconds."""
        if not self.settings.steady:
            return self._alone(rgb)
        r = self.restorer
        with timed(self.timings, DETECT):
            tracks = self.tracker.step(rgb, t)
        jobs: list[FaceJob] = []
        reports: list[FaceReport] = []
        owners: dict[int, _FaceState] = {}
        with timed(self.timings, CENSOR):
            boxes = [tr.face.box for tr in tracks]
            for tr in tracks:
                why = _not_chosen(r, tr.id, tr.face.box, boxes)
                if why is not None:  # --faces, --largest: left as it is, as a photo's face would be
                    reports.append(FaceReport(tr.face.box, tr.face.score, None, why, "skipped", index=tr.id))
                    self.states.pop(tr.id, None)
                    continue
                st = self.states.setdefault(tr.id, _FaceState())
                planned = self._plan(rgb, tr.face, st)
                planned.index = tr.id
                if isinstance(planned, FaceReport):
                    reports.append(planned)
                    continue
                jobs.append(planned)
                owners[id(planned)] = st
        live = {tr.id for tr in self.tracker.tracks}
        self.states = {k: v for k, v in self.states.items() if k in live}
        sub: dict[str, float] = {}
        out, painted, hole = r.paint(rgb, jobs, want_mask=self.want_mask, timings=sub,
                                     adjust=lambda batch, crops: self._blend(owners, batch, crops),
                                     reuse=lambda job: self._reuse(owners[id(job)], job),
                                     flip=self.settings.flip_average, retouch=self.settings.retouch)  # fmt: skip
        self._add(sub)
        return FrameResult(out, reports + painted, hole, len(tracks))

    def _alone(self, rgb: np.ndarray) -> FrameResult:
        r = self.restorer
        with timed(self.timings, DETECT):
            faces = r.finder.search(rgb).faces
        planned: list[FaceJob | FaceReport] = []
        boxes = [f.box for f in faces]
        with timed(self.timings, CENSOR):
            for index, k in enumerate(reading_order(boxes)):  # numbered as a photo's faces are
                f = faces[k]
                why = _not_chosen(r, index, f.box, boxes)
                planned.append(r.plan(rgb, f) if why is None else FaceReport(f.box, f.score, None, why, "skipped"))
                planned[-1].index = index
        jobs = [p for p in planned if isinstance(p, FaceJob)]
        sub: dict[str, float] = {}
        out, painted, hole = r.paint(
            rgb,
            jobs,
            want_mask=self.want_mask,
            timings=sub,
            flip=self.settings.flip_average,
            retouch=self.settings.retouch,
        )
        self._add(sub)
        return FrameResult(out, [p for p in planned if isinstance(p, FaceReport)] + painted, hole, len(faces))

    def _add(self, sub: dict[str, float]) -> None:
        for stage in (GENERATOR, PASTE):
            self.timings[stage] = self.timings.get(stage, 0.0) + sub.get(stage, 0.0)

    # -- a face's decision over time -------------------------------------------------------------------------------
    def _plan(self, rgb: np.ndarray, face: Face, st: _FaceState) -> FaceJob | FaceReport:
        r = self.restorer
        first = st.job.occluder.kind if st.job is not None else None  # the kind found last frame, tried first
        planned = r.plan(rgb, face, first=first)
        if r.region == "auto":
            found = planned.region if isinstance(planned, FaceJob) else None
            if st.region is not None and found != st.region:
                st.votes += 1
                if st.votes < SWITCH_FRAMES:  # not yet: keep the region held
                    if found is not None:
                        planned = r.plan(rgb, face, st.region, first)
                else:
                    st.region, st.votes = found, 0
            else:
                st.region, st.votes = found or st.region, 0
        carried = False
        if isinstance(planned, FaceReport) and st.job is not None and st.held < HOLD_FRAMES:
            moved = self._carry(rgb, face, st)
            if moved is not None:
                planned, carried = moved, True
        if not isinstance(planned, FaceJob):
            st.job, st.patch, st.crop_hole, st.crop_out, st.held = None, None, None, None, 0
            return planned
        st.held = st.held + 1 if carried else 0
        own = planned.hole
        if st.crop_hole is not None and st.model_key == planned.model_key and st.crop_hole.shape == own.shape:
            planned.hole = np.maximum(own, st.crop_hole)
        st.crop_hole, st.model_key = own, planned.model_key
        x0, y0, x1, y1 = planned.occluder.box
        st.job, st.patch = planned, rgb[y0:y1, x0:x1].copy()
        return planned

    def _carry(self, rgb: np.ndarray, face: Face, st: _FaceState) -> FaceJob | None:
        """Last frame's censor moved with the face into this frame, if the pixels under it still match it."""
        prev = st.job
        assert prev is not None and st.patch is not None
        size = self.restorer.models[prev.model_key].size
        aligned, _ = align_checked(rgb, face, size, prev.region)
        # photo(t-1) -> photo(t): through the canonical crop, which both frames' alignments share
        a = np.vstack([cv2.invertAffineTransform(aligned.matrix), [0, 0, 1]]) @ np.vstack(
            [prev.aligned.matrix, [0, 0, 1]]
        )
        occ = prev.occluder
        x0, y0, x1, y1 = occ.box
        corners = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64) @ a[:2].T
        h, w = rgb.shape[:2]
        nx0, ny0 = int(max(np.floor(corners[:, 0].min()), 0)), int(max(np.floor(corners[:, 1].min()), 0))
        nx1, ny1 = int(min(np.ceil(corners[:, 0].max()) + 1, w)), int(min(np.ceil(corners[:, 1].max()) + 1, h))
        if nx1 - nx0 < 2 or ny1 - ny0 < 2:
            return None
        local = a[:2].copy()  # box(t-1) pixels -> box(t) pixels
        local[:, 2] += local[:, :2] @ np.array([x0, y0], np.float64) - np.array([nx0, ny0], np.float64)
        shape = (nx1 - nx0, ny1 - ny0)
        mask = cv2.warpAffine(occ.mask, local, shape, flags=cv2.INTER_NEAREST, borderValue=0)
        if not mask.any():
            return None
        before = cv2.warpAffine(st.patch, local, shape, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        now = rgb[ny0:ny1, nx0:nx1]
        # its inside only: the smoothed landmarks may place the moved censor a pixel or two off
        sel = cv2.erode(mask, disc(HOLD_INSET * occ.iod)) > 0
        if not sel.any():
            return None
        diff = float(np.median(np.abs(now[sel].astype(np.float32) - before[sel].astype(np.float32))))
        if diff > HOLD_DIFF:
            return None
        moved = Occluder(occ.kind, (nx0, ny0, nx1, ny1), mask, occ.margin, occ.iod)
        why = f"{prev.decision.split(';')[0]}; not found in this frame: carried from the previous one"
        return FaceJob(
            face, prev.region, why, aligned, moved, moved.crop_hole(aligned.matrix, aligned.size), prev.model_key
        )

    def _reuse(self, st: _FaceState, job: FaceJob) -> np.ndarray | None:
        """The face's previous generator crop when the face did not change since (see :data:`REUSE_CHANGE`)."""
        prev = st.crop_out
        if prev is None or st.crop_in is None or prev.shape[:2] != job.hole.shape or st.reused >= REUSE_RUN:
            st.reused = 0
            return None
        known = job.hole == 0
        now = job.aligned.crop.astype(np.float32)
        if not known.any() or float(np.abs(now[known] - st.crop_in[known]).mean()) >= REUSE_CHANGE:
            st.reused = 0
            return None
        st.reused += 1
        return np.clip(prev + 0.5, 0, 255).astype(np.uint8)

    def _blend(self, owners: dict[int, _FaceState], jobs: list[FaceJob], crops: list[np.ndarray]) -> list[np.ndarray]:
        """The generator's crops blended with each face's previous ones (crop space: the faces are aligned)."""
        out = []
        for job, crop in zip(jobs, crops):
            st = owners[id(job)]
            now = job.aligned.crop.astype(np.float32)
            gen = crop.astype(np.float32)
            if st.crop_out is not None and st.crop_out.shape == gen.shape and st.crop_in is not None:
                known = job.hole == 0
                change = float(np.abs(now[known] - st.crop_in[known]).mean()) if known.any() else BLEND_CHANGE
                weight = BLEND * max(0.0, 1.0 - change / BLEND_CHANGE)
                gen = weight * st.crop_out + (1.0 - weight) * gen
            st.crop_in, st.crop_out = now, gen
            out.append(np.clip(gen + 0.5, 0, 255).astype(np.uint8))
        return out
