"""What ``unmask train`` shows and how it stops: the progress view (rich bars on a terminal, plain lines otherwise)
and the Ctrl-C / SIGTERM handling (stop after the step, abandon it, end at once)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from unmask.cli._common import EXIT_INTERRUPTED, err, exit_at_once, printable
from unmask.cli.progress import Bar


STEP_GRACE_S = 1.0
"""After Ctrl-C or SIGTERM in training, the step in progress may end this long and be kept (a checkpoint written);
past it, it is abandoned and the run resumes from its last checkpoint (issue 25: stopped within two seconds)."""

HARD_STOP_S = 1.7
"""Past this, the process ends at once, whatever it is in (one long operation that the abandoning cannot cut short):
every file it wrote is complete, an unfinished checkpoint being a temporary file the next run removes."""


class Stopper:
    """Ctrl-C and SIGTERM in ``unmask train``. While preparing faces or setting up, the first one stops at once
    (shards are kept). In training, it asks the loop to stop after the current step (a checkpoint, no final
    validation); when that has not happened :data:`STEP_GRACE_S` later the step is abandoned (``KeyboardInterrupt``
    in the main thread), and :data:`HARD_STOP_S` later the process ends whatever it is in. A second signal aborts."""

    def __init__(self, view: View) -> None:
        self.view, self.asked, self.done = view, 0, False
        self._lock = threading.Lock()
        self._timers: list[threading.Timer] = []

    def on_signal(self, signum: int, frame: object) -> None:
        self.asked += 1
        if self.asked > 1 or not self.view.started:  # preparing data or setting up: stop at once (shards are kept)
            raise KeyboardInterrupt
        self.view.note(f"stopping after this step with a checkpoint, or in {STEP_GRACE_S:g} s from the last one "
                       "(no final validation)")  # fmt: skip
        self._timers = [threading.Timer(STEP_GRACE_S, self._abandon), threading.Timer(HARD_STOP_S, self._end)]
        for t in self._timers:
            t.daemon = True
            t.start()

    def _abandon(self) -> None:
        import _thread

        with self._lock:
            if not self.done:
                _thread.interrupt_main(signal.SIGINT)  # on_signal again: KeyboardInterrupt where the step is

    def _end(self) -> None:
        with self._lock:
            if not self.done:
                err.print(f"interrupted: {printable(self.view.abandoned())}", highlight=False, markup=False)
                exit_at_once(EXIT_INTERRUPTED)

    def finish(self) -> None:
        """Training returned or failed: no timer acts any more."""
        with self._lock:
            self.done = True
        for t in self._timers:
            t.cancel()


SHORT_LOGS = ("g/rec", "g/total", "d/total")
"""Logged scalars shown in the progress bar: L1 in the hole, and the two totals."""


class View:
    """Renders training events: rich progress bars on a terminal (preparation, steps), plain lines otherwise."""

    def __init__(self) -> None:
        self._bar = Bar(
            "{task.description}",
            "bar",
            "count",
            "eta",
            "{task.fields[info]}",
            bar_width=24,
            transient=False,
            unit="photos",
        )
        self._tasks: dict[str, Any] = {}
        self._start: tuple[int, float] | None = None  # (step, elapsed) of the first step event: for time left
        self.started = False  # the training loop runs: a first Ctrl-C stops after the step, not at once
        self.run_dir: Any = None
        self.checkpoint_step: int | None = None  # the step of the run's last checkpoint, once there is one

    def __enter__(self) -> View:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def note(self, text: str) -> None:
        self._bar.console.print(printable(text), highlight=False, markup=False)

    def abandoned(self) -> str:
        """What the line after an abandoned step says: where the run resumes from."""
        if self.checkpoint_step is None:
            return "the step in progress was abandoned before the run's first checkpoint; rerun the same command to start again"
        return (f"the step in progress was abandoned; continue with `unmask train --resume {self.run_dir}` from its "
                f"last checkpoint (step {self.checkpoint_step})")  # fmt: skip

    def _task(self, key: str, description: str, total: float | None, completed: float = 0) -> Any:
        if key not in self._tasks:  # completed: done by an earlier run (a resumed preparation), not in the rate
            self._tasks[key] = self._bar.add(description, total=total, completed=completed, info="")
        return self._tasks[key]

    def _left(self, e: Any) -> str:
        """``, about 3 min 05 s left`` towards ``--max-steps`` at the pace since this session's first step."""
        from unmask.cli.progress import duration

        step0, t0 = self._start or (0, 0.0)
        if not e.max_steps or e.step <= step0 or e.step >= e.max_steps:
            return ""
        return f", about {duration((e.max_steps - e.step) * (e.elapsed - t0) / (e.step - step0))} left"

    def event(self, e: Any) -> None:
        if e.kind == "prepare":  # a bar on a terminal, else a line every few seconds and one at the end
            t = self._task(f"prep-{e.what}", f"preparing {e.what} faces", e.total, e.done)
            self._bar.update(t, completed=e.done, info=f"{e.failed} unusable" if e.failed else "")
        elif e.kind == "start":
            self.started = True
            self.run_dir = e.path
            self.checkpoint_step = e.step or None  # a resumed run starts at its checkpoint's step
            self._start = (e.step or 0, 0.0)
            self.note(f"training {e.message}" + (f" (from step {e.step})" if e.step else ""))
        elif e.kind == "step":
            if self._bar.shown:  # the headline numbers; every term is in metrics.jsonl / TensorBoard
                short = "  ".join(f"{k} {e.logs[k]:.4g}" for k in SHORT_LOGS if k in e.logs)
                t = self._task("train", "training", e.max_steps)
                self._bar.update(t, completed=e.step, info=f"{e.samples_per_s:.1f} faces/s  {short}")
            else:
                losses = " ".join(f"{k}={v:.4g}" for k, v in e.logs.items())
                steps = f"{e.step}/{e.max_steps}" if e.max_steps else str(e.step)
                self.note(f"step {steps} epoch {e.epoch} {e.samples_per_s:.1f} faces/s{self._left(e)} {losses}")
        elif e.kind == "val":
            metrics = "  ".join(f"{k} {v:.4g}" for k, v in e.logs.items())
            self.note(f"val @ step {e.step}: {metrics}  ({e.path})")
        elif e.kind == "checkpoint":
            self.checkpoint_step = e.step
            if not self._bar.shown:
                self.note(f"checkpoint @ step {e.step}: {e.path}")
        elif e.kind == "note":
            self.note(e.message)
