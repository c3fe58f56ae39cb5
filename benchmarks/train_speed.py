"""Training throughput per arch at its `small` preset on this machine, with data loading measured separately: the
command line of :mod:`unmask.measure.train_speed` (one JSON line per arch).

Run (needs ../shared and a prepared 128 px crop cache, e.g. from any `unmask train` run):
    python benchmarks/train_speed.py [--steps 4] [--batch 16] [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from unmask.measure.train_speed import train_speed
from unmask.train import archs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="../shared/data/celeba/val")
    ap.add_argument(
        "--features",
        default=os.environ.get("UNMASK_PERCEPTUAL_WEIGHTS", "../shared/weights/squeezenet1_1_features.pth"),
    )
    ap.add_argument("--archs", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.archs.split(",") if args.archs else archs.names():
        rows.append(train_speed(name, args.data, args.features, args.batch, args.steps, args.warmup, args.threads))
        print(json.dumps(rows[-1]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
