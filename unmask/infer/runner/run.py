"""The batch runner: every input in order, one :class:`~unmask.infer.runner.records.Record` each."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from unmask.infer.runner.job import process, process_video
from unmask.infer.runner.outputs import outputs, plan_clashes
from unmask.infer.runner.records import BatchOptions, Record
from unmask.infer.runner.state import StateFile, settings_key
from unmask.infer.inputs import Job, Skip
from unmask.infer.io.atomic import remove_stale_temps
from unmask.infer.pipeline import Restorer
from unmask.infer.video.formats import is_video_name


def run_batch(items: Iterable[Job | Skip], restorer: Restorer, options: BatchOptions,
              on_frame: Callable[[Job, int, int], None] | None = None) -> Iterator[Record]:  # fmt: skip
    """One :class:`Record` per job or skip, in order (preceded by a notice when temporary files that a killed run
    left next to this batch's outputs were removed). Videos go through :func:`process_video`, which calls
    ``on_frame(job, frames done, frames declared)`` after each frame. With ``options.state_dir`` the state file
    there (:mod:`unmask.infer.runner.state`) skips inputs an earlier run with the same settings found nothing to
    restore in, and remembers this run's."""
    items = list(items)
    state = None
    if options.state_dir is not None and not options.draw_only:
        state = (StateFile(options.state_dir), settings_key(restorer, options.user_mask_path))
    clashes = plan_clashes(items, options)
    every = [p for i in items if isinstance(i, Job) for p in outputs(i, options)]
    stale = remove_stale_temps(every)
    if stale:
        yield Record(str(stale[0].parent), None, "notice",
                     note=f"removed {len(stale)} temporary file(s) left by an interrupted run")  # fmt: skip
    for k, item in enumerate(items):
        if isinstance(item, Skip):
            if item.failed:
                yield Record(str(item.path), None, "failed", error=item.reason)
            else:
                yield Record(str(item.path), None, "notice", note=item.reason)
        elif k in clashes:
            yield Record(str(item.source), None, "failed", error=clashes[k])
        elif is_video_name(item.source):
            yield process_video(item, restorer, options, on_frame, state)
        else:
            yield process(item, restorer, options, state)
    if state is not None:
        state[0].compact()
