"""Which files each input writes and where: its main output and its extra images (``--compare``,
``--save-mask``, ``--show-faces``, named by :func:`sidecar`), and the clashes between them found before a batch
starts (:func:`plan_clashes`: no file is written twice in one run, and inputs are never written to)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from unmask.infer.runner.records import BatchOptions
from unmask.infer.inputs import Job, Skip
from unmask.infer.video.formats import is_video_name
from unmask.infer.io.write import format_name


def sidecar(output: Path, what: str) -> Path:
    """``out/b/c.jpg`` -> ``out/b/c.WHAT.png`` (compare and mask images are always PNG)."""
    return output.with_name(f"{output.stem}.{what}.png")


EXTRAS = {"compare": "compare image", "mask": "mask image", "faces": "faces picture"}
"""Extra images a job may write next to its output (:func:`sidecar` names) and how a message calls them."""


def extras(job: Job, options: BatchOptions) -> list[tuple[str, Path]]:
    """The extra images ``options`` asks of ``job``: ``(kind, path)`` for ``--compare`` and ``--save-mask``
    (none for a video)."""
    if is_video_name(job.source):
        return []
    wanted = [("compare", options.compare), ("mask", options.save_mask)]
    shown = (
        [("faces", options.show_faces[job.source])] if options.show_faces and job.source in options.show_faces else []
    )
    return [(what, sidecar(job.output, what)) for what, on in wanted if on] + shown


def faces_pictures(items: Iterable[Job | Skip], target: Path, out_dir: Path) -> dict[Path, Path]:
    """Where ``--show-faces TARGET`` puts each photo's or video's faces picture (:func:`unmask.infer.show.draw_faces`): ``target``
    itself for a run of one photo (unless it is a folder), else ``TARGET/<the output's place under out_dir>``
    named ``NAME.faces.png``; ``ValueError`` when ``target`` is a file and there are several photos."""
    jobs = [i for i in items if isinstance(i, Job)]  # a video's: its first frame with a face
    if len(jobs) == 1 and not target.is_dir():
        try:
            format_name(target.suffix or "none")  # the picture is written in the format its name says
        except ValueError:
            raise ValueError(f"--show-faces {target}: not an image file name (use .png, .jpg, .webp or .tif)") from None
        return {jobs[0].source: target}
    if target.exists() and not target.is_dir():
        raise ValueError(f"--show-faces {target} is a file: for {len(jobs)} photos give a folder")
    out: dict[Path, Path] = {}
    for job in jobs:
        try:
            rel = job.output.relative_to(out_dir)
        except ValueError:
            rel = Path(job.output.name)
        out[job.source] = sidecar(target / rel, "faces")
    return out


def outputs(job: Job, options: BatchOptions) -> list[Path]:
    """Every file ``job`` writes: its extra images, then its main output (written last)."""
    return [p for _, p in extras(job, options)] + [job.output]


def _norm(path: Path) -> str:
    return os.path.normcase(os.path.normpath(os.path.abspath(path)))


def _file_key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def plan_clashes(items: list[Job | Skip], options: BatchOptions) -> dict[int, str]:
    """Jobs (by position in ``items``) whose extra images clash: with another job's main output (main outputs
    win: a side image never costs another photo its restoration), with an earlier job's extra image, or with an
    input file. The reason is one line."""
    mains = {_norm(i.output): i for i in items if isinstance(i, Job)}
    inputs: dict[tuple[int, int], Path] = {}
    for i in items:
        key = _file_key(i.source if isinstance(i, Job) else i.path)
        if key is not None:
            inputs.setdefault(key, i.source if isinstance(i, Job) else i.path)
    taken: dict[str, tuple[Job, str]] = {}
    clashes: dict[int, str] = {}
    for k, item in enumerate(items):
        if not isinstance(item, Job):
            continue
        mine: list[tuple[str, str]] = []
        for what, path in extras(item, options):
            n = _norm(path)
            key = _file_key(path)
            if n in mains:
                clashes[k] = f"its {EXTRAS[what]} {path} would overwrite the output of {mains[n].source}"
            elif n in taken:
                other, other_what = taken[n]
                clashes[k] = f"its {EXTRAS[what]} {path} is already the {EXTRAS[other_what]} of {other.source}"
            elif key is not None and key in inputs:
                clashes[k] = f"its {EXTRAS[what]} {path} is the input {inputs[key]} (inputs are never written to)"
            else:
                mine.append((n, what))
                continue
            break
        if k not in clashes:
            for n, what in mine:
                taken[n] = (item, what)
    return clashes
