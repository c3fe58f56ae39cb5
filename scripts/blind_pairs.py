"""Pairs for a blind test: the same face real and restored, side by side at 3x zoom, sides shuffled.

Run: python scripts/blind_pairs.py PHOTOS --out DIR [--n 20] [--start 300] [--seed 0] [--kinds bar,pixelate,surgical]
     [--model-eyes NAME] [--model-mouth NAME] [--no-retouch]

For each photo from index ``--start`` (sorted by name; the README's tables use the first 200 validation photos, so
the default start leaves them out), the largest face is censored with the next kind of ``--kinds`` (the eval's
randomised censors, JPEG q90), restored as ``unmask PHOTO --region eyes|mouth`` does, and the area around the
censor (its box grown by half its height, at least 48 px high) is cut from the restored photo and from the
original, zoomed 3x (nearest neighbour) and put side by side, real on a random side. Writes ``DIR/pair-NN.png``
and ``DIR/key.json`` (which side is real, the censor kind, the photo); the pictures carry no hint of the answer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from unmask.infer.face.detect import FaceFinder
from unmask.infer.io.write import write_png
from unmask.infer.pipeline import Restorer
from unmask.infer.runtime import find_model, load_model
from unmask.measure.censored import censored_faces
from unmask.measure.evaluate import GivenFaces, list_photos
from unmask.spec import KIND_REGION

ZOOM = 3


def _window(hole: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(hole)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    pad = max(int(0.5 * (y1 - y0)), (48 - (y1 - y0)) // 2, 8)
    h, w = hole.shape
    return max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("photos", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--start", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default="bar,pixelate,surgical")
    ap.add_argument("--model-eyes", default=None)
    ap.add_argument("--model-mouth", default=None)
    ap.add_argument("--no-retouch", action="store_true")
    args = ap.parse_args()
    kinds = args.kinds.split(",")
    models = {"eyes": load_model(find_model(args.model_eyes, "eyes"), "cpu", 0),
              "mouth": load_model(find_model(args.model_mouth, "mouth"), "cpu", 0)}  # fmt: skip
    finder, given = FaceFinder(), GivenFaces()
    restorers = {r: Restorer({r: m}, region=r, finder=given, retouch=not args.no_retouch) for r, m in models.items()}
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    key = []
    photos = list_photos(args.photos)[args.start :]
    next_kind = lambda: kinds[len(key) % len(kinds)]  # the kinds in turn, one per pair written
    for f in censored_faces(photos, finder, next_kind, lambda i: args.seed + 1000 + i):
        if len(key) >= args.n:
            break
        given.faces = [f.face]
        result = restorers[KIND_REGION[f.kind]].restore(f.censored)
        if not result.restored:
            continue
        y0, y1, x0, x1 = _window(f.hole > 127)
        real, fake = f.clean[y0:y1, x0:x1], result.rgb[y0:y1, x0:x1]
        real_left = bool(rng.random() < 0.5)
        left, right = (real, fake) if real_left else (fake, real)
        gap = np.full((left.shape[0], 4, 3), 255, np.uint8)
        pair = np.concatenate([left, gap, right], axis=1)
        pair = cv2.resize(pair, None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST)
        name = f"pair-{len(key):02d}.png"
        write_png(args.out / name, pair)
        key.append({"pair": name, "real": "left" if real_left else "right", "kind": f.kind, "photo": f.photo.name})
    (args.out / "key.json").write_text(json.dumps(key, indent=1))
    finder.close()
    print(f"wrote {len(key)} pairs to {args.out}")


if __name__ == "__main__":
    main()
