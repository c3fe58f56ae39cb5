"""One folder run (unmask.measure.folder.bench_folder) of whichever unmask is first on sys.path, in wall and CPU
seconds, so that two checkouts can be compared one after the other (benchmarks/RESULTS.md, issue 29):

    PYTHONPATH=OTHER_CHECKOUT python benchmarks/folder_cpu.py LABEL MODEL|default N OUT.json

Photos: the 101st to the (100+N)th of ../shared/data/celeba/val, region eyes, force (every face restored), 2 threads,
3 photos of warm-up; ``default`` is the region's default model on a CPU session (load_models), else a model name of
that checkout's models/. Prints one line; OUT.json gets bench_folder's report with the CPU seconds.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

VAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba" / "val"


def main(label: str, model: str, n: int, out: str) -> None:
    import unmask
    from unmask.infer.pipeline import Restorer, load_models
    from unmask.infer.runtime import load_model
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
    Path(out).write_text(json.dumps(d))
    ms = {k: round(1000 * v / len(photos), 1) for k, v in d["stages_s"].items()}
    print(label, m.name, "wall", d["wall_s"], "cpu", d["cpu_s"], "photos/cpu-s", d["photos_per_cpu_s"], ms)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
