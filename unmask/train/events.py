"""What a training run reports: progress events (for the CLI), its result, and its on-disk log
(``metrics.jsonl`` and, when tensorboard is installed, TensorBoard event files)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass
class Event:
    """What ``progress`` receives (rank 0 only). ``kind``:

    * ``prepare``: data preparation of ``what`` (``train``/``val``), ``done`` of ``total`` photos, ``failed``;
    * ``start``: the loop begins (``message`` describes the setup, ``path`` is the run folder);
    * ``step``: every ``log_every`` steps: ``logs`` (losses averaged over the steps since the last event and over
      ranks), ``samples_per_s``;
    * ``val``: ``logs`` holds the validation metrics, ``path`` the sample grid;
    * ``checkpoint``: ``path`` written;
    * ``note``: something worth telling (``message``);
    * ``end``: the run stopped (``message``: why; ``path``: the last checkpoint).
    """

    kind: str
    step: int = 0
    max_steps: int | None = None
    epoch: int = 0
    samples: int = 0
    elapsed: float = 0.0
    samples_per_s: float = 0.0
    logs: dict[str, float] = field(default_factory=dict)
    what: str = ""
    done: int = 0
    total: int = 0
    failed: int = 0
    message: str = ""
    path: Path | None = None


Progress = Callable[[Event], None]


@dataclass(frozen=True)
class TrainResult:
    """How a run ended. ``reason``: ``max_steps``, ``max_minutes`` or ``stopped`` (``should_stop`` said so).
    ``digest``: SHA-256 of this process's generator state (equal on every rank of a multi-process run)."""

    run_dir: Path
    checkpoint: Path
    step: int
    samples: int
    wall: float
    metrics: dict[str, float]
    reason: str
    digest: str


METRICS = "metrics.jsonl"
"""The run's log of logged steps and validations, one JSON object per line, under its folder."""


class RunLog:
    """Appends one JSON object per logged step or validation to ``RUN/metrics.jsonl`` and mirrors the scalars
    to TensorBoard (``RUN/tb``) when ``torch.utils.tensorboard`` can be imported. Disabled: does nothing (ranks
    other than 0).

    ``step``: where the run starts (the step of the checkpoint it resumes, 0 for a new run). Lines of later steps,
    logged by a session killed after its last checkpoint, are cut first (and a line the kill left half-written), so
    the resumed run logs each step once; TensorBoard purges them too."""

    def __init__(self, run_dir: Path, enabled: bool, step: int = 0) -> None:
        self.enabled = enabled
        self.tb: Any = None
        self.file: Any = None
        if not enabled:
            return
        cut_after(run_dir / METRICS, step)
        self.file = open(run_dir / METRICS, "a", encoding="utf-8")
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is an optional extra
            return
        self.tb = SummaryWriter(str(run_dir / "tb"), purge_step=step + 1)

    def write(self, kind: str, step: int, values: dict[str, float], **extra: Any) -> None:
        if not self.enabled:
            return
        self.file.write(json.dumps({"kind": kind, "step": step, **extra, **values}) + "\n")
        self.file.flush()
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"{kind}/{k}", v, step)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.tb is not None:
            self.tb.close()


def cut_after(path: Path, step: int) -> int:
    """Removes from the log ``path`` (rewritten atomically, when there is anything to remove) the lines of steps
    after ``step`` and any line that is not a whole JSON object; returns how many lines went."""
    from unmask.infer.io.atomic import write_atomic

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return 0
    kept = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("step"), int) and entry["step"] <= step:
            kept.append(line)
    if len(kept) != len(lines):
        write_atomic(path, "".join(f"{ln}\n" for ln in kept).encode("utf-8"))
    return len(lines) - len(kept)


class Meter:
    """Running means of logged scalars between two log events."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, logs: dict[str, float]) -> None:
        for k, v in logs.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
            self.counts[k] = self.counts.get(k, 0) + 1

    def pop(self) -> dict[str, float]:
        means = {k: self.sums[k] / self.counts[k] for k in sorted(self.sums)}
        self.sums, self.counts = {}, {}
        return means
