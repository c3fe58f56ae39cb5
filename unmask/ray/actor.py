"""The callable classes Ray Data runs in its actor pool. Each actor builds its :class:`~unmask.infer.pipeline.Restorer`
once (its ONNX sessions and face finder) in ``__init__``; a restarted actor (its process killed) builds it again and
Ray retries the batch it held.

* :class:`RestoreFiles`: rows ``{"source", "output"}`` (local paths, or URLs that :mod:`unmask.ray.remote` stages);
  each row goes through the runner's own :func:`~unmask.infer.runner.process` (or
  :func:`~unmask.infer.runner.process_video`), so outputs, provenance tags and records are a plain run's; out: the
  row's ``record`` as JSON (:func:`record_json`).
* :class:`RestoreImages`: rows ``{"image": HxWx3 uint8 RGB, ...}`` (what ``ray.data.read_images`` gives), restored in
  memory; out: the row with ``image`` restored (unchanged where nothing was), ``status`` and ``record``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from unmask.infer.inputs import Job
from unmask.infer.runner import BatchOptions, Record, process, process_video
from unmask.infer.video.formats import is_video_name
from unmask.ray.remote import is_url, staged
from unmask.ray.settings import RestorerSettings


def record_json(rec: Record) -> str:
    """``rec`` as a JSON object of all its fields (timings and the regions list included), for the trip back to the
    driver; :func:`record_of` reads it."""
    return json.dumps(dataclasses.asdict(rec))


def record_of(text: str) -> Record:
    """The :class:`Record` that :func:`record_json` wrote."""
    return Record(**json.loads(text))


def _column(batch: dict[str, Any], name: str) -> list:
    return [v.item() if isinstance(v, np.generic) else v for v in batch[name]]


class RestoreFiles:
    """Restores the files of a batch of rows ``{"source", "output"}``; returns ``{"source", "record"}``.

    ``options``: the batch's options. ``planned``: the driver handed out only inputs that need work
    (:func:`unmask.infer.runner.settled`, :func:`unmask.ray.batch.restore_jobs`), so the actor redoes its photo
    whatever it finds (``overwrite``): a photo whose actor was killed after writing its output but before
    reporting is restored again (the same bytes, written atomically) by the retry, not reported ``exists``.
    Unplanned, an input whose outputs exist is ``exists``, as in a plain run. The state file is the driver's
    (``state_dir`` is ignored here)."""

    def __init__(self, settings: RestorerSettings, options: BatchOptions, planned: bool = False) -> None:
        settings.cap_threads()
        self.restorer = settings.build()
        self.options = dataclasses.replace(options, overwrite=options.overwrite or planned, state_dir=None)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        sources, outputs = _column(batch, "source"), _column(batch, "output")
        records = [record_json(self.one(str(s), str(o))) for s, o in zip(sources, outputs)]
        return {"source": sources, "record": records}

    def one(self, source: str, output: str) -> Record:
        if is_url(source) or is_url(output):
            with staged(source, output, self.options) as (job, finish):
                return finish(None if job is None else self.run(job))
        return self.run(Job(Path(source), Path(output)))

    def run(self, job: Job) -> Record:
        if is_video_name(job.source):
            return process_video(job, self.restorer, self.options)
        return process(job, self.restorer, self.options)


class RestoreImages:
    """Restores the images of a batch of rows ``{"image": HxWx3 uint8 RGB, ...}`` in memory: each row comes back
    with ``image`` restored (the same array where nothing was restored), ``status`` (a record's status: restored,
    no-face, no-censor, failed) and ``record`` (JSON: faces, regions, model, note or error). Other columns pass
    through."""

    def __init__(self, settings: RestorerSettings) -> None:
        settings.cap_threads()
        self.restorer = settings.build()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        images, statuses, records = [], [], []
        names = _column(batch, "path") if "path" in batch else [f"image {i}" for i in range(len(batch["image"]))]
        for name, image in zip(names, batch["image"]):
            rec = self.one(str(name), np.asarray(image))
            images.append(rec[1])
            statuses.append(rec[0].status)
            records.append(record_json(rec[0]))
        out = dict(batch)
        out.update(image=images, status=statuses, record=records)
        return out

    def one(self, name: str, rgb: np.ndarray) -> tuple[Record, np.ndarray]:
        rec = Record(name, None, "failed")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            rec.error = f"not an HxWx3 uint8 RGB image (shape {rgb.shape}, {rgb.dtype})"
            return rec, rgb
        try:
            result = self.restorer.restore(rgb)
        except Exception as e:  # noqa: BLE001 - one image must not stop the dataset: a failed record
            rec.error = " ".join(f"{type(e).__name__}: {e}".split())
            return rec, rgb
        rec.faces = [f.to_dict() for f in result.faces]
        rec.regions = list(result.regions)
        rec.model = ",".join(sorted({f.model for f in result.faces if f.model}))
        rec.timings = dict(result.timings)
        if result.restored:
            rec.status = "restored"
            return rec, result.rgb
        rec.status = "no-face" if not any(f.status != "skipped" for f in result.faces) else "no-censor"
        return rec, rgb
