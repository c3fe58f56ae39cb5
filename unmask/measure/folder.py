"""A folder run through the real path (:func:`unmask.infer.runner.job.process`: the stages of
:data:`unmask.infer.stages.PHOTO`): seconds per stage, photos/s, faces/s, and resident memory sampled by a background thread (peak, and
its drift over the run). Never prints; ``unmask bench`` renders.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unmask.infer.stages import GENERATOR, OTHER, PHOTO
from unmask.measure.memory import MIB, RssSampler, current_rss

if TYPE_CHECKING:  # pragma: no cover
    from unmask.infer.pipeline import Restorer

STAGES = PHOTO
"""Stages of a folder run, in order (:data:`unmask.infer.stages.PHOTO`); what is left of the wall time is reported as
``other``."""


@dataclass
class FolderBench:
    """A folder run. ``stages``: seconds per stage summed over photos (only photos that were restored report
    stages; the rest of the wall time is ``other``); ``rss``: resident bytes after each photo; ``rss_peak``: the
    sampled peak during the run; ``rss_start``: before the first photo."""

    photos: int
    restored: int
    faces: int
    failed: int
    wall: float
    stages: dict[str, float]
    rss_start: int
    rss_peak: int
    rss: list[int] = field(default_factory=list)
    cpu: float = 0.0
    """CPU seconds this process spent over the run (all its threads): on a shared, loaded machine a steadier
    measure than the wall time."""

    @property
    def other(self) -> float:
        return max(0.0, self.wall - sum(self.stages.values()))

    @property
    def photos_per_s(self) -> float:
        return self.photos / self.wall if self.wall > 0 else 0.0

    @property
    def photos_per_cpu_s(self) -> float:
        return self.photos / self.cpu if self.cpu > 0 else 0.0

    @property
    def faces_per_s(self) -> float:
        return self.faces / self.wall if self.wall > 0 else 0.0

    @property
    def around_share(self) -> float:
        """Share of the wall time spent outside the generator (everything but its stage)."""
        return 1.0 - self.stages.get(GENERATOR, 0.0) / self.wall if self.wall > 0 else 0.0

    @property
    def rss_drift(self) -> int:
        """Resident bytes after the last photo minus after the photo at 10% of the run (warm-up excluded)."""
        if len(self.rss) < 2:
            return 0
        return self.rss[-1] - self.rss[max(1, len(self.rss) // 10) - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "photos": self.photos,
            "restored": self.restored,
            "faces": self.faces,
            "failed": self.failed,
            "wall_s": round(self.wall, 4),
            "stages_s": {k: round(v, 5) for k, v in self.stages.items()} | {OTHER: round(self.other, 5)},
            "photos_per_s": round(self.photos_per_s, 3),
            "cpu_s": round(self.cpu, 4),
            "photos_per_cpu_s": round(self.photos_per_cpu_s, 3),
            "faces_per_s": round(self.faces_per_s, 3),
            "around_generator_share": round(self.around_share, 4),
            "rss_start_mib": round(self.rss_start / MIB, 1),
            "rss_peak_mib": round(self.rss_peak / MIB, 1),
            "rss_drift_mib": round(self.rss_drift / MIB, 2),
        }


def bench_folder(
    photos: Sequence[str | Path],
    restorer: "Restorer",
    out_dir: str | Path,
    on_photo: Callable[[int, int], None] | None = None,
) -> FolderBench:
    """Restores every photo of ``photos`` with ``restorer`` through :func:`unmask.infer.runner.job.process`, writing into
    ``out_dir`` (outputs overwritten), and times it."""
    from unmask.infer.runner.job import process
    from unmask.infer.runner.records import BatchOptions
    from unmask.infer.inputs import Job

    out_dir = Path(out_dir)
    options = BatchOptions(overwrite=True)
    stages = {s: 0.0 for s in STAGES}
    rss: list[int] = []
    restored = faces = failed = 0
    with RssSampler() as sampler:
        t0, c0 = time.perf_counter(), time.process_time()
        for i, p in enumerate(photos):
            p = Path(p)
            rec = process(Job(p, out_dir / f"{i:05d}-{p.name}"), restorer, options)
            for k, v in rec.timings.items():
                stages[k] = stages.get(k, 0.0) + v
            restored += rec.status == "restored"
            failed += rec.status == "failed"
            faces += sum(f.get("status") == "restored" for f in rec.faces)
            rss.append(current_rss())
            if on_photo is not None:
                on_photo(i + 1, len(photos))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return FolderBench(len(photos), restored, faces, failed, wall, stages, sampler.start, sampler.peak, rss, cpu)


def demo_photos(folder: str | Path, n: int) -> list[Path]:
    """``n`` copies of scikit-image's public-domain astronaut portrait (512x512, one face) as JPEG in
    ``folder``, for a benchmark when no folder is given."""
    from PIL import Image
    from skimage import data

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(data.astronaut())
    paths = []
    for i in range(n):
        p = folder / f"astronaut-{i:04d}.jpg"
        img.save(p, quality=92)
        paths.append(p)
    return paths
