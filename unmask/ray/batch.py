"""A plain run's batch on a Ray cluster: :func:`restore_jobs` plans on the driver as the runner does, hands the
inputs that need work to a pool of actors (:func:`unmask.ray.dataset.restore_dataset`) and yields one
:class:`~unmask.infer.runner.Record` per input, the same records a plain run yields."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from unmask.infer.inputs import Job, Skip
from unmask.infer.io.atomic import remove_stale_temps
from unmask.infer.runner import BatchOptions, Record, StateFile, outputs, plan_clashes, settled
from unmask.infer.runner.records import DONE
from unmask.ray.actor import record_of
from unmask.ray.cluster import ClusterError, require_ray
from unmask.ray.dataset import pool_size, restore_dataset
from unmask.ray.remote import url_exists
from unmask.ray.settings import RestorerSettings


MAX_BLOCKS = 10_000
"""Blocks a batch is cut into: one input per block up to this many inputs (an actor killed mid-photo costs its
retry one photo), a few per block beyond, so that the driver of millions of photos does not hold millions of
blocks (a retry then redoes the few photos of its block, written again atomically with the same bytes: the actors
overwrite, and only the retry's records come back)."""

_ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*(?:Error|Exception|Exit)): (.+)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cause(e: BaseException) -> str:
    """The root cause of a Ray error in one line: the last ``SomeError: message`` line of its text (Ray's errors
    carry the remote traceback), e.g. ``ModelError: /m.onnx: model file not found``; else its first line."""
    lines = [_ANSI.sub("", line).strip() for line in str(e).splitlines()]
    for line in reversed(lines):
        m = _ERROR_LINE.match(line)
        if m:
            return f"{m.group(1)}: {m.group(2)}"
    return next((line for line in lines if line), type(e).__name__)


class UrlJob(NamedTuple):
    """An input or output that is a URL (:func:`unmask.ray.remote.list_url`): restored by an actor through a
    local copy."""

    source: str
    output: str


def restore_jobs(items: Sequence[Job | Skip | UrlJob], settings: RestorerSettings, options: BatchOptions, *,
                 state_key: str | None = None, workers: int | None = None) -> Iterator[Record]:  # fmt: skip
    """One record per item, as :func:`unmask.infer.runner.run_batch` gives them: skips, clashes
    (:func:`~unmask.infer.runner.plan_clashes`) and inputs needing no work (:func:`~unmask.infer.runner.settled`:
    outputs exist, or the state file of ``options.state_dir`` under ``state_key`` recalls them) are settled here,
    first; the others are restored by ``workers`` actors (:func:`~unmask.ray.dataset.pool_size`) and come in the
    order given. The driver alone writes the state file. Temporary files of killed writers (a run killed before,
    an actor killed in this one, whose photo Ray retried) are removed before and after. An actor that cannot
    start (its models, its device) raises :class:`~unmask.ray.cluster.ClusterError` with the cause in one line.
    Ray must be connected."""
    ray = require_ray()
    state = None
    if options.state_dir is not None and state_key is not None and not options.draw_only:
        state = (StateFile(options.state_dir), state_key)
    local = [i for i in items if not isinstance(i, UrlJob)]
    clashes = {id(local[k]): why for k, why in plan_clashes(local, options).items()}
    every = [p for i in local if isinstance(i, Job) for p in outputs(i, options)]
    stale = remove_stale_temps(every)
    if stale:
        yield Record(str(stale[0].parent), None, "notice",
                     note=f"removed {len(stale)} temporary file(s) left by an interrupted run")  # fmt: skip
    pending: dict[str, Job | UrlJob] = {}
    for item in items:
        if isinstance(item, Skip):
            yield Record(str(item.path), None, "failed" if item.failed else "notice",
                         error=item.reason if item.failed else None, note=None if item.failed else item.reason)  # fmt: skip
        elif isinstance(item, UrlJob):
            if not options.overwrite and not options.draw_only and url_exists(item.output, options, item.source):
                yield Record(item.source, item.output, "exists", note="its output exists (--overwrite redoes it)")
            else:
                pending.setdefault(item.source, item)
        elif id(item) in clashes:
            yield Record(str(item.source), None, "failed", error=clashes[id(item)])
        elif not options.draw_only and (done := settled(item, options, state)) is not None:
            yield done
        else:
            pending.setdefault(str(item.source), item)
    try:
        if pending:
            yield from _restore(ray, pending, settings, options, state, workers)
    except ray.exceptions.RayError as e:  # an actor that cannot start (its models, its device) stops the pool
        raise ClusterError(f"the Ray actors failed: {cause(e)}") from None
    finally:
        if state is not None:
            state[0].compact()
        remove_stale_temps(every)


def _restore(ray, pending: dict[str, Job | UrlJob], settings: RestorerSettings, options: BatchOptions,  # noqa: ANN001
             state: tuple[StateFile, str] | None, workers: int | None) -> Iterator[Record]:  # fmt: skip
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # records in the order given, as a plain run's
    context.enable_progress_bars = False  # the library never prints: the caller shows progress from the records
    rows = [{"source": str(j.source), "output": str(j.output)} for j in pending.values()]
    ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), MAX_BLOCKS))
    size = pool_size(settings, workers, len(rows))
    for row in restore_dataset(ds, settings, options=options, workers=size, planned=True).iter_rows():
        rec = record_of(row["record"])
        job = pending.get(str(row["source"]))
        if state is not None and isinstance(job, Job) and rec.status in DONE:
            state[0].remember(job.source, job.output, state[1], rec.status, rec.note)
        yield rec
