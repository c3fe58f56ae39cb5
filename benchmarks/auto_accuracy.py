"""`--region auto` on many validation faces: is each face's censor found in the right region, and is every clean
face left untouched? The command line of :mod:`unmask.measure.auto_accuracy`; prints one JSON object.

    python benchmarks/auto_accuracy.py ../shared/data/celeba/val --n 200 > auto.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from unmask.measure.auto_accuracy import measure_auto


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--n", type=int, default=200, help="photos to use (one case per censor kind, and clean)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jpeg", type=int, default=90)
    args = ap.parse_args()
    json.dump(measure_auto(args.data, args.n, args.seed, args.jpeg), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
