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
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from unmask.measure.memory import load_average

if TYPE_CHECKING:  # pragma: no cover
    from unmask.measure.folder import FolderBench
    from unmask.measure.generator import GeneratorBench
    from unmask.measure.probe import MemoryProbe
    from unmask.measure.scaling import Timed


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
