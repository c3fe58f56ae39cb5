"""What a batch is given (:class:`BatchOptions`) and what it reports: one :class:`Record` per input, its
``status`` one of :data:`STATUSES`, counted by :func:`summary`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unmask.edges import EdgeGuide
from unmask.infer.io.read import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:  # pragma: no cover
    from unmask.infer.video.settings import VideoSettings

STATUSES = ("restored", "no-face", "no-censor", "drawn", "exists", "skipped", "failed", "notice")
"""What happened to an input: ``restored`` (at least one face restored, the output written); ``no-face`` (no face
to restore: none found, the photo too small for one, or every face found too small, beyond ``--max-faces`` or not
chosen); ``no-censor`` (faces found, none covered: nothing to restore); ``drawn`` (``--show-faces`` without
``--restore``: the faces picture written, faces to restore found, nothing restored); ``exists`` (its outputs exist: not redone);
``skipped`` (the input is itself an output of unmask: it carries the provenance tag); ``failed`` (the one status
with an ``error``). ``notice``: not an input, a note about the batch (stale temporary files removed, a folder not
searched). ``no-face`` and ``no-censor`` write no output; the output folder's state file
(:mod:`unmask.infer.runner.state`) remembers them, so a rerun with the same settings does not look again."""

DONE = ("no-face", "no-censor")
"""Statuses of an input that was looked at and needs nothing written: remembered in the state file."""


@dataclass
class Record:
    """What happened to one input. ``status`` is one of :data:`STATUSES`."""

    input: str
    output: str | None
    status: str
    faces: list[dict] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    model: str = ""
    error: str | None = None  # why it failed: set for ``failed`` only
    note: str | None = None  # what was found, for the other statuses (no face found, nothing covered, ...)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    video: dict | None = None  # a video's frames, frames restored, frames with no face, fps and seconds per stage

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict:
        video = {} if self.video is None else {"video": self.video}
        return {
            "input": self.input,
            "output": self.output,
            "status": self.status,
            "faces": self.faces,
            "region": ",".join(self.regions) or None,
            "model": self.model,
            "error": self.error,
            "note": self.note,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 4),
            **video,
        }


@dataclass
class BatchOptions:
    overwrite: bool = False
    compare: bool = False
    save_mask: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    user_mask: np.ndarray | None = None
    user_mask_path: str | None = None
    user_edges: EdgeGuide | None = None
    user_edges_path: str | None = None
    video: VideoSettings | None = None  # codec, CRF, steadiness of videos (None: the defaults)
    show_faces: Mapping[Path, Path] | None = None  # where each photo's faces picture goes (faces_pictures)
    draw_only: bool = False  # show_faces without restoring: draw the faces picture, write no output
    state_dir: Path | None = None  # where the state file of no-face / no-censor inputs lives (the output folder)


def summary(records: Iterable[Record]) -> dict[str, int]:
    counts = {s: 0 for s in STATUSES}
    for r in records:
        counts[r.status] += 1
    return counts
