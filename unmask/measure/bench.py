"""What one ``unmask bench`` run measured, in one report. Never prints; ``unmask bench`` renders.

The measurements live in one module each:

* :mod:`unmask.measure.folder`: a folder run through the real path, seconds per stage, photos/s, faces/s and
  resident memory (:mod:`unmask.measure.memory` samples it);
* :mod:`unmask.measure.generator`: the generator alone in ONNX Runtime and in PyTorch eager, as a ratio, with
  :mod:`unmask.measure.macs` (multiply-adds per face read from the ONNX graph) turned into multiply-adds per second;
* :mod:`unmask.measure.scaling`: 1 vs 8 faces in one photo, 0.3 to 24 megapixels, batch size, on synthetic
  canvases; :mod:`unmask.measure.probe`: peak memory of a fresh process restoring a 24-megapixel photo with ten
  faces.

The targets these are judged against are the project's, not the library's: ``benchmarks/targets.py`` reads the
report's JSON (``unmask bench --json``) and says pass or miss.

An interrupted run leaves its finished sections (:data:`SECTIONS`) in a :class:`BenchState`: the rerun of the same
command keeps them and measures the others. A section stopped halfway is measured again from its start, as
timings are only comparable within one uninterrupted pass (the same warm-up, the same load).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unmask.measure.memory import load_average

if TYPE_CHECKING:  # pragma: no cover
    from unmask.measure.folder import FolderBench
    from unmask.measure.generator import GeneratorBench
    from unmask.measure.probe import MemoryProbe
    from unmask.measure.scaling import Timed
    from unmask.measure.video_bench import VideoBenchReport


@dataclass
class BenchReport:
    """Everything one ``unmask bench`` run measured; sections not run are None."""

    model: dict[str, Any]
    threads: int
    device: str
    folder: FolderBench | None = None
    folder_int8: FolderBench | None = None
    """The same folder run with the model's int8 copy (``unmask quantize``), when one is installed."""
    generator: GeneratorBench | None = None
    faces: list[Timed] | None = None
    sizes: list[Timed] | None = None
    batches: list[GeneratorBench] | None = None
    memory: MemoryProbe | None = None
    notes: list[str] = field(default_factory=list)
    load: tuple[float, float, float] | None = field(default_factory=lambda: load_average())
    """The machine's 1, 5 and 15 minute load averages when the benchmark started (other work skews timings)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "threads": self.threads,
            "device": self.device,
            "folder": None if self.folder is None else self.folder.to_dict(),
            "folder_int8": None if self.folder_int8 is None else self.folder_int8.to_dict(),
            "generator": None if self.generator is None else self.generator.to_dict(),
            "scaling": None
            if self.faces is None and self.sizes is None and self.batches is None and self.memory is None
            else {
                "faces": None if self.faces is None else [t.to_dict() for t in self.faces],
                "sizes": None if self.sizes is None else [t.to_dict() for t in self.sizes],
                "batches": None if self.batches is None else [b.to_dict() for b in self.batches],
                "memory": None if self.memory is None else self.memory.to_dict(),
            },
            "notes": self.notes,
            "cpu_count": os.cpu_count(),
            "load_average": None if self.load is None else [round(v, 2) for v in self.load],
        }


def temp_dir(prefix: str = "unmask-bench-") -> tempfile.TemporaryDirectory:
    """A temporary folder for benchmark outputs (removed when the returned object is cleaned up)."""
    return tempfile.TemporaryDirectory(prefix=prefix)


SECTIONS = ("folder", "folder_int8", "generator", "faces", "sizes", "batches", "memory")
"""The parts of a :class:`BenchReport` one at a time, in the order ``unmask bench`` measures them. ``unmask bench
--video`` keeps each clip as section ``video-K`` (K faces; a :class:`unmask.measure.video_bench.VideoBench`)."""


def _section_types() -> dict[str, tuple[type, bool]]:
    """Each section's dataclass, and whether the section is a list of them."""
    from unmask.measure.folder import FolderBench
    from unmask.measure.generator import GeneratorBench
    from unmask.measure.probe import MemoryProbe
    from unmask.measure.scaling import Timed
    from unmask.measure.video_bench import VideoBench

    return {"folder": (FolderBench, False), "folder_int8": (FolderBench, False), "generator": (GeneratorBench, False),
            "faces": (Timed, True), "sizes": (Timed, True), "batches": (GeneratorBench, True),
            "memory": (MemoryProbe, False), "video": (VideoBench, False)}  # fmt: skip


class BenchState:
    """The finished sections of an ``unmask bench`` run, in one JSON file at ``path`` (rewritten atomically after
    each section): each section's measurement (its dataclass's fields, floats exact) and the notes it added. A
    file of another ``key`` (:func:`unmask.measure.resume.state_key` of the command's model files, photos and
    options) or an unreadable one counts as none."""

    def __init__(self, path: str | os.PathLike[str], key: str) -> None:
        self.path, self.key = Path(path), key
        self.sections: dict[str, Any] = {}
        self.notes: dict[str, list[str]] = {}
        self.error: str | None = None
        """Why the file could not be written (the run goes on without it)."""
        try:
            d = json.loads(self.path.read_text(encoding="utf-8"))
            if d.get("bench") == key:
                self.sections, self.notes = dict(d["sections"]), dict(d["notes"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass

    @classmethod
    def open(cls, key: str, cache: str | os.PathLike[str] | None = None) -> BenchState:
        """The state of the run keyed ``key``, under ``$UNMASK_CACHE/bench`` (:func:`unmask.measure.resume.state_dir`)."""
        from unmask.measure.resume import state_dir

        return cls(state_dir("bench", cache) / f"{key}.json", key)

    def section(self, name: str, report: BenchReport | VideoBenchReport, measure: Callable[[], Any]) -> Any:
        """Section ``name``'s measurement: the one kept from an interrupted run (its notes added to ``report``), else
        ``measure()``'s, then kept."""
        kind, many = _section_types()[name.split("-")[0]]
        if name in self.sections:
            report.notes.extend(self.notes.get(name, []))
            v = self.sections[name]
            return None if v is None else [kind(**x) for x in v] if many else kind(**v)
        before = len(report.notes)
        value = measure()
        self.sections[name] = (
            None if value is None else [dataclasses.asdict(x) for x in value] if many else dataclasses.asdict(value)
        )
        self.notes[name] = report.notes[before:]
        self._write()
        return value

    def _write(self) -> None:
        from unmask.infer.io.atomic import atomic_file

        d = {"bench": self.key, "sections": self.sections, "notes": self.notes}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(self.path) as f:
                f.write(json.dumps(d, default=lambda o: o.item()).encode())  # numpy scalars as numbers
        except OSError as e:
            self.error = f"{self.path}: {e.strerror or e}"

    def remove(self) -> None:
        """Deletes the file (the run's result is out)."""
        with contextlib.suppress(OSError):
            self.path.unlink()
