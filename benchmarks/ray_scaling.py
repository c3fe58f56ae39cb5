"""Photos per second of a folder run on a local Ray cluster with 1 and 2 actors, next to a plain run with 1 and 2
threads on the same photos (issue 30; benchmarks/RESULTS.md, "Ray").

    python benchmarks/ray_scaling.py [--n 40] [--work /tmp/unmask-ray-bench] [--val ../shared/data/celeba/val]

``--n`` validation faces are censored with the project's bar and mosaic (alternately; PNG and JPEG) into
``WORK/in``; each run writes a fresh ``WORK/out-*``. The plain runs load their models before the clock starts; a
Ray run is timed from the start of the batch (the actors load their models inside it) to its last record, and
also from its first record to its last (the pool warm). The Ray cluster (2 CPUs, one per actor) is started once,
outside the timings. Prints one JSON object per run, then a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np


def make_photos(val: Path, folder: Path, n: int) -> None:
    from PIL import Image

    from unmask.infer.censors import draw_censor
    from unmask.infer.face.detect import FaceFinder

    folder.mkdir(parents=True, exist_ok=True)
    k = 0
    with FaceFinder() as finder:
        for path in sorted(val.glob("*.jpg")):
            rgb = np.asarray(Image.open(path).convert("RGB"))
            faces = finder.search(rgb).faces
            if len(faces) != 1:
                continue
            censored, _ = draw_censor(rgb, faces[0].landmarks, ("bar", "pixelate")[k % 2], np.random.default_rng(k))
            Image.fromarray(censored).save(folder / f"{path.stem}{'.png' if k % 3 == 0 else '.jpg'}", quality=95)
            k += 1
            if k == n:
                return


def plain(photos: Path, out: Path, threads: int) -> dict:
    import cv2

    from unmask.infer.inputs import discover
    from unmask.infer.pipeline import Restorer, load_models
    from unmask.infer.runner import BatchOptions, run_batch

    cv2.setNumThreads(threads)
    items = list(discover([photos], out))
    with Restorer(load_models(None, "eyes", "cpu", threads)) as restorer:
        t0 = time.perf_counter()
        records = list(run_batch(items, restorer, BatchOptions(state_dir=out)))
        wall = time.perf_counter() - t0
    restored = sum(r.status == "restored" for r in records)
    return {"run": f"plain, {threads} thread{'s' if threads > 1 else ''}", "photos": len(records),
            "restored": restored, "seconds": round(wall, 2), "photos_per_s": round(len(records) / wall, 2)}  # fmt: skip


def on_ray(photos: Path, out: Path, workers: int) -> dict:
    from unmask.infer.inputs import discover
    from unmask.infer.runner import BatchOptions
    from unmask.ray import RestorerSettings, restore_jobs

    items = list(discover([photos], out))
    t0 = time.perf_counter()
    first = None
    records = []
    for rec in restore_jobs(items, RestorerSettings(threads=1), BatchOptions(state_dir=out), workers=workers):
        records.append(rec)
        first = first or time.perf_counter()
    end = time.perf_counter()
    n = len(records)
    return {"run": f"Ray, {workers} actor{'s' if workers > 1 else ''}", "photos": n,
            "restored": sum(r.status == "restored" for r in records), "seconds": round(end - t0, 2),
            "photos_per_s": round(n / (end - t0), 2),
            "warm_photos_per_s": round((n - 1) / (end - first), 2) if first and n > 1 else None}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--work", type=Path, default=Path("/tmp/unmask-ray-bench"))
    ap.add_argument("--val", type=Path, default=Path(os.environ.get("UNMASK_VAL", "../shared/data/celeba/val")))
    args = ap.parse_args()
    photos = args.work / "in"
    if not photos.is_dir():
        make_photos(args.val, photos, args.n)
    from unmask.ray import connect

    rows = []
    with connect("local", cpus=2):
        for kind, n in (("plain", 1), ("ray", 1), ("plain", 2), ("ray", 2)):
            out = args.work / f"out-{kind}-{n}"
            shutil.rmtree(out, ignore_errors=True)
            row = plain(photos, out, n) if kind == "plain" else on_ray(photos, out, n)
            row["load_1min"] = round(os.getloadavg()[0], 1)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("\n| run | photos | restored | seconds | photos/s | photos/s, pool warm | load (1 min) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['run']} | {r['photos']} | {r['restored']} | {r['seconds']} | {r['photos_per_s']} | "
              f"{r.get('warm_photos_per_s') or '-'} | {r['load_1min']} |")  # fmt: skip


if __name__ == "__main__":
    main()
