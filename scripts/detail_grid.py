"""Grids at 3x zoom of the area around the censor: censored | each model | Telea | original, one row per face.

Run: python scripts/detail_grid.py PHOTOS --censor bar|pixelate|surgical --out FILE.png [--n 12] [--seed 0]
     [--model NAME_OR_PATH ...] [--no-retouch]

The first ``--n`` photos (sorted by name) with a face found before and after censoring are censored as ``unmask
eval --seed SEED`` censors them (photo ``i`` from ``default_rng(seed + i)``, JPEG q90), restored as ``unmask PHOTO
--region eyes|mouth --model M`` does (Telea given the censor's true pixels), and the censor's box grown by half its
height (widened to one aspect per region) is cut from each result, brought to 60 px high and zoomed 3x with
nearest neighbour (no smoothing added) and labelled. Every restored area is synthetic.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from unmask.infer.face.detect import FaceFinder
from unmask.infer.io.write import write_png
from unmask.infer.pipeline import Restorer
from unmask.infer.runtime import find_model, load_model
from unmask.measure.baselines import Baseline
from unmask.measure.censored import censored_faces
from unmask.measure.evaluate import GivenFaces, list_photos
from unmask.spec import KIND_REGION

ZOOM = 3
CELL_H = 60
"""Height of every cell before zooming (photo pixels around the censor, resized to this height)."""


ASPECT = {"eyes": 2.0, "mouth": 1.25}
"""Width over height of every cell, per region, so that the columns line up."""


def _window(hole: np.ndarray, aspect: float) -> tuple[int, int, int, int]:
    """The censor's box grown by half its height, then widened or heightened about its centre to ``aspect``."""
    ys, xs = np.nonzero(hole)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    pad = max(int(0.5 * (y1 - y0)), 6)
    y0, y1, x0, x1 = y0 - pad, y1 + pad, x0 - pad, x1 + pad
    h, w = y1 - y0, x1 - x0
    if w < aspect * h:
        grow = int(round(aspect * h - w)) // 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = int(round(w / aspect - h)) // 2
        y0, y1 = y0 - grow, y1 + grow
    H, W = hole.shape
    return max(0, y0), min(H, y1), max(0, x0), min(W, x1)


def _label(img: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((18, img.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, img], axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("photos", type=Path)
    ap.add_argument("--censor", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--no-retouch", action="store_true")
    args = ap.parse_args()
    region = KIND_REGION[args.censor]
    finder, given = FaceFinder(), GivenFaces()
    names = args.model or [None]
    models = [load_model(find_model(m, region), "cpu", 0) for m in names]
    labels = [Path(m).stem if m else mod.name for m, mod in zip(names, models)]
    restorers = [Restorer({region: m}, region=region, finder=given, retouch=not args.no_retouch) for m in models]
    telea = Baseline("telea", models[0].size)
    rows = []
    for f in censored_faces(list_photos(args.photos), finder, lambda: args.censor, lambda i: args.seed + i):
        if len(rows) >= args.n:
            break
        given.faces = [f.face]
        censored = f.censored
        outs = (
            [censored] + [r.restore(censored).rgb for r in restorers] + [telea.inpaint_photo(censored, f.hole), f.clean]
        )
        y0, y1, x0, x1 = _window(f.hole > 127, ASPECT[region])
        w = round(CELL_H * ASPECT[region])
        cells = [cv2.resize(o[y0:y1, x0:x1], (w * ZOOM, CELL_H * ZOOM), interpolation=cv2.INTER_NEAREST) for o in outs]
        gap = np.full((CELL_H * ZOOM, 6, 3), 255, np.uint8)
        row = [c for cell in cells for c in (cell, gap)][:-1]
        rows.append(np.concatenate(row, axis=1))
    heads = ["censored"] + labels + ["telea", "original"]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    grid = np.concatenate(rows, axis=0)
    cell_w = (rows[0].shape[1] + 6) // len(heads)
    title = np.full((18, width, 3), 255, np.uint8)
    for k, h in enumerate(heads):
        cv2.putText(title, h, (k * cell_w + 3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    write_png(args.out, np.concatenate([title, grid], axis=0))
    finder.close()
    print(f"wrote {args.out}: {len(rows)} faces, columns {' | '.join(heads)} (restored areas are synthetic)")


if __name__ == "__main__":
    main()
