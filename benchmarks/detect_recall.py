"""How many faces does detection find on large photos, censored or not? (issue 15) The command line of
:mod:`unmask.measure.detect_recall`, which holds the canvases, the matching and the measurement.

    python benchmarks/detect_recall.py ../shared/data/celeba/val --per-cell 20 --faceless 20 > recall.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from unmask.measure.detect_recall import ANGLES, KINDS, face_pool, markdown, measure


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path, help="folder of face photos (../shared/data/celeba/val)")
    ap.add_argument("--per-cell", type=int, default=20, help="canvases per (censor, angle)")
    ap.add_argument("--faceless", type=int, default=20, help="canvases without faces")
    ap.add_argument("--pool", type=int, default=300, help="face photos to draw from")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--angles", default=",".join(map(str, ANGLES)))
    ap.add_argument(
        "--restore", action="store_true", help="also run --region auto (grey stand-in models) on the faceless canvases"
    )
    ap.add_argument("--markdown", action="store_true", help="print the markdown table after the JSON")
    args = ap.parse_args(argv)
    from unmask.infer.face.detect import FaceFinder

    pool = face_pool(args.data, args.pool)
    with FaceFinder() as finder:
        restorer = None
        if args.restore:
            from unmask.infer.pipeline import Restorer
            from unmask.measure.auto_accuracy import Grey

            restorer = Restorer({"eyes": Grey(), "mouth": Grey()}, region="auto", finder=finder)
        result = measure(finder, pool, args.per_cell, args.faceless, args.seed, tuple(args.kinds.split(",")),
                         tuple(int(a) for a in args.angles.split(",")), restorer)  # fmt: skip
    result["pool"] = len(pool)
    json.dump(result, sys.stdout)
    print()
    if args.markdown:
        print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
