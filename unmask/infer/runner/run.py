"""The batch runner: every input in order, one :class:`~unmask.infer.runner.records.Record` each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from unmask.infer.runner.job import process, process_video
from unmask.infer.runner.outputs import outputs, plan_clashes
from unmask.infer.runner.records import BatchOptions, Record
from unmask.infer.inputs import Job, Skip
from unmask.infer.io.atomic import remove_stale_temps
from unmask.infer.pipeline import Restorer
from unmask.infer.video.formats import is_video_name


def run_batch(items: Iterable[Job | Skip], restorer: Restorer, options: BatchOptions,
              on_frame: Callable[[Job, int, int], None] | None = None) -> Iterator[Record]:  # fmt: skip
    """One :class:`Record` per job or skip, in order (preceded by a notice when temporary files that a killed run
    left next to this batch's outputs were removed). Videos go through :func:`process_video`, which calls
    ``on_frame(job, frames done, frames declared)`` after each frame."""
    items = list(items)
    clashes = plan_clashes(items, options)
    every = [p for i in items if isinstance(i, Job) for p in outputs(i, options)]
    stale = remove_stale_temps(every)
    if stale:
        yield Record(str(stale[0].parent), None, "notice",
                     error=f"removed {len(stale)} temporary file(s) left by an interrupted run")  # fmt: skip
    for k, item in enumerate(items):
        if isinstance(item, Skip):
            yield Record(str(item.path), None, "failed" if item.failed else "notice", error=item.reason)
        elif k in clashes:
            yield Record(str(item.source), None, "failed", error=clashes[k])
        elif is_video_name(item.source):
            yield process_video(item, restorer, options, on_frame)
        else:
            yield process(item, restorer, options)
