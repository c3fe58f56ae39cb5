"""One folder run (unmask.measure.folder.bench_folder) of whichever unmask is first on sys.path, in wall and CPU
seconds, so that two checkouts can be compared one after the other (benchmarks/RESULTS.md, issue 29):

    PYTHONPATH=OTHER_CHECKOUT python benchmarks/folder_cpu.py LABEL MODEL|default N OUT.json [--cpu-stages]

Photos: the 101st to the (100+N)th of ../shared/data/celeba/val, region eyes, force (every face restored), 2 threads,
3 photos of warm-up; ``default`` is the region's default model on a CPU session (load_models), else a model name of
that checkout's models/. Prints one line; OUT.json gets bench_folder's report with the CPU seconds.

``--cpu-stages``: every stage timed in CPU seconds of the process (``time.process_time``, all its threads) instead
of wall seconds, by swapping the clock of the pipeline's stage timer and of the runner's read and write timings (a
benchmark's patch; the library times stages in wall seconds). On the shared machine this is the steadier measure of
each stage and of the share around the generator (``around_generator_share`` is then a share of the CPU time).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba" / "val"


def cpu_stages() -> None:
    """Stages timed in process CPU seconds (see the module)."""
    import unmask.infer.pipeline as pipeline
    import unmask.infer.runner.job as job

    @contextmanager
    def timed(timings: dict[str, float], stage: str) -> Iterator[None]:  # unmask.infer.stages.timed, on the CPU clock
        t0 = time.process_time()
        try:
            yield
        finally:
            timings[stage] = timings.get(stage, 0.0) + time.process_time() - t0

    pipeline.timed = timed
    job.time = types.SimpleNamespace(perf_counter=time.process_time)


def main(label: str, model: str, n: int, out: str, cpu_clock: bool = False) -> None:
    if cpu_clock:
        cpu_stages()
    import unmask
    from unmask.infer.pipeline import Restorer, load_models
    from unmask.infer.runtime import load_model
    from unmask.infer.stages import GENERATOR, OTHER
    from unmask.measure.folder import bench_folder

    photos = sorted(VAL.glob("*.jpg"))[100 : 100 + n]
    code = Path(unmask.__file__).parents[1]
    m = (
        load_models(None, "eyes", "cpu", 2)["eyes"]
        if model == "default"
        else load_model(code / "models" / f"{model}.onnx", "cpu", 2)
    )
    with Restorer({"eyes": m}, region="eyes", force=True) as r, tempfile.TemporaryDirectory() as tmp:
        bench_folder(photos[:3], r, Path(tmp) / "warm")
        c0 = time.process_time()
        f = bench_folder(photos, r, Path(tmp) / "out")
        cpu = time.process_time() - c0
    d = f.to_dict()
    d.update(
        label=label, model=m.name, code=str(code), cpu_s=round(cpu, 3), photos_per_cpu_s=round(len(photos) / cpu, 3)
    )
    if cpu_clock:  # the stages are CPU seconds: "other" is the CPU outside them, and the share is of the CPU
        stages = {k: v for k, v in d["stages_s"].items() if k != OTHER}
        d["stages_s"][OTHER] = round(max(0.0, cpu - sum(stages.values())), 5)
        d["around_generator_share"] = round(1.0 - stages[GENERATOR] / max(cpu, 1e-9), 4)
    d["stage_clock"] = "cpu" if cpu_clock else "wall"
    Path(out).write_text(json.dumps(d))
    ms = {k: round(1000 * v / len(photos), 1) for k, v in d["stages_s"].items()}
    print(label, m.name, "wall", d["wall_s"], "cpu", d["cpu_s"], "photos/cpu-s", d["photos_per_cpu_s"],
          "around", d["around_generator_share"], d["stage_clock"], ms)  # fmt: skip


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--cpu-stages"]
    main(args[0], args[1], int(args[2]), args[3], cpu_clock="--cpu-stages" in sys.argv[1:])
