"""What a folder run shows: the progress bar (photos, or frames for a video) or plain lines when the output is not a
terminal, and the summary line."""

from __future__ import annotations

import time
from typing import Any

from unmask.cli._common import printable, say
from unmask.cli.progress import Bar, duration, rate_text

FRAME_LINE_S = 5.0
"""Seconds between the progress lines of a video when stderr is not a terminal."""


class Progress:
    """A rich progress bar on a terminal (inputs, faces, rate, time left; and a video's frames, fps and time left
    while it runs); plain lines otherwise: one per input, and a video's progress every :data:`FRAME_LINE_S`
    seconds. Rates count only the inputs that were worked on (not those skipped because their output exists), per
    second of the time spent on them: photos/s for photos, frames/s for videos."""

    def __init__(self, total: int, quiet_lines: bool) -> None:
        self.total = total
        self.done = 0
        self.faces = 0
        self.worked = 0  # photos read and looked at (not skipped), and the seconds they took
        self.worked_s = 0.0
        self.quiet_lines = quiet_lines
        self._bar = Bar(
            "{task.description}",
            "bar",
            "count",
            "{task.fields[what]}",
            "{task.fields[rate]}",
            "eta",
            transient=False,
            plain=False,
        )
        self._task: Any = None
        self._video: tuple[str, Any, float] | None = None  # input, its frames task, start
        self._said = 0.0

    def __enter__(self) -> Progress:
        self._bar.__enter__()
        self._task = self._bar.add("restoring", total=self.total, what="0 faces", rate="- photos/s")
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def frame(self, job, done: int, total: int) -> None:  # noqa: ANN001 - inputs.Job
        """A video's progress: ``done`` frames of ``total`` (0: the file does not say)."""
        now = time.perf_counter()
        if self._video is None or self._video[0] != str(job.source):
            task = self._bar.add(
                f"  {printable(job.source.name)}", total=total or None, what="frames", rate="- frames/s"
            )
            self._video = (str(job.source), task, now)
            self._said = now
        _, task, start = self._video
        elapsed = max(now - start, 1e-9)
        if self._bar.shown:
            self._bar.update(task, completed=done, rate=rate_text(done, elapsed, "frames"))
        elif not self.quiet_lines and now - self._said >= FRAME_LINE_S:
            self._said = now
            eta = f", about {duration((total - done) * elapsed / done)} left" if total and done else ""
            say(f"  restoring {job.source}: {done}/{total or '?'} frames, {rate_text(done, elapsed, 'frames')}{eta}")

    def _end_video(self) -> None:
        if self._video is not None:
            self._bar.remove(self._video[1])
        self._video = None

    def advance(self, rec) -> None:  # noqa: ANN001 - batch.Record
        if rec.status == "notice":
            say(f"note: {rec.input}: {rec.note}")
            return
        self._end_video()
        self.done += 1
        self.faces += sum(f["status"] == "restored" for f in rec.faces) + (rec.video or {}).get("faces", 0)
        if rec.video:  # a video's own rate, in frames
            rate = rate_text(rec.video.get("frames", 0), rec.seconds, "frames")
        elif rec.status in ("exists", "skipped") or rec.seconds <= 0:
            rate = ""
        else:
            self.worked += 1
            self.worked_s += rec.seconds
            rate = rate_text(self.worked, self.worked_s, "photos")
        if self._bar.shown or self.quiet_lines:  # failures and warnings: one line each
            if rec.status == "failed":
                say(f"failed: {rec.input}: {rec.error}")
            for w in rec.warnings:
                say(f"warning: {rec.input}: {w}")
        if self._bar.shown:
            shown = rate_text(self.worked, self.worked_s, "photos") if self.worked else "- photos/s"
            self._bar.update(self._task, advance=1, what=f"{self.faces} faces", rate=shown)
        elif not self.quiet_lines:
            restored = (
                f"restored {rec.video['frames_restored']} of {rec.video['frames']} frames"
                if rec.video
                else f"restored {sum(f['status'] == 'restored' for f in rec.faces)} face(s)"
            )
            what = {"restored": f"{restored} -> {rec.output}", "no-face": f"no face: {rec.note}",
                    "no-censor": f"no censor: {rec.note}", "drawn": f"drawn: {rec.note}",
                    "exists": "exists: its output exists", "skipped": f"skipped: {rec.note}",
                    "failed": f"failed: {rec.error}"}[rec.status]  # fmt: skip
            warned = "".join(f"; warning: {w}" for w in rec.warnings)  # on the input's own line
            said = f" ({rate})" if rate else ""
            say(f"[{self.done}/{self.total}] {rec.input}: {what}{_faces_part(rec.faces)}{warned}{said}")


def summary_line(counts: dict[str, int], wall: float) -> str:
    """``restored 3, no face 1, no censor 2, exists 0, skipped 0, failed 0 in 1.2 s`` (``drawn`` when any)."""
    names = [("restored", "restored"), ("drawn", "drawn"), ("no-face", "no face"), ("no-censor", "no censor"),
             ("exists", "exists"), ("skipped", "skipped"), ("failed", "failed")]  # fmt: skip
    parts = [f"{label} {counts.get(key, 0)}" for key, label in names if key != "drawn" or counts.get(key)]
    return ", ".join(parts) + f" in {wall:.1f} s"


def _faces_part(faces: list[dict]) -> str:
    """``; faces: 0 restored eyes, 1 no censor, 2 too small`` for a photo's faces (numbers as the report's)."""
    from unmask.infer.show import label

    if not faces:
        return ""
    return "; faces: " + ", ".join(f"{f['index']} {label(f['status'], f['decision'], f['region'])}" for f in faces)
