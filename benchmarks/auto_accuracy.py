"""`--region auto` on many validation faces: is each face's censor found in the right region, and is every clean
face left untouched? (issue 10: at least 98% right on 800 faces, no clean face changed)

    python benchmarks/auto_accuracy.py ../shared/data/celeba/val --n 200 > auto.json

Each photo with exactly one face found gives four cases: clean, and censored with a randomised eye bar, mosaic and
surgical/cloth mask (the training censors, `numpy.random.default_rng(seed + index)`), each JPEG q90. The
"models" paint grey, so only the decision (and whether pixels change) is measured. Prints one JSON object:
accuracy per kind, clean faces changed, the wrong cases, and seconds per face.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from unmask.infer.censors import draw_censor, jpeg
from unmask.infer.face.detect import FaceFinder
from unmask.infer.io import read_image
from unmask.measure.evaluate import list_photos
from unmask.infer.pipeline import Restorer

EXPECTED = {"clean": None, "bar": "eyes", "pixelate": "eyes", "surgical": "mouth"}


class Grey:
    """A stand-in generator: grey everywhere (the decision, not the painting, is measured)."""

    size = 128
    name = "grey"

    def run(self, crops: list, holes: list) -> list:
        return [np.full_like(c, 128) for c in crops]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--n", type=int, default=200, help="photos to use (4 cases each)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jpeg", type=int, default=90)
    args = ap.parse_args()
    counts = {k: [0, 0] for k in EXPECTED}
    wrong, changed_clean, seconds = [], 0, []
    with FaceFinder() as finder, Restorer({"eyes": Grey(), "mouth": Grey()}, region="auto", finder=finder) as r:
        for index, path in enumerate(list_photos(args.data)):
            if counts["clean"][1] >= args.n:
                break
            clean = read_image(path).rgb
            faces = finder.find(clean)
            if len(faces) != 1:
                continue
            rng = np.random.default_rng(args.seed + index)
            for kind, region in EXPECTED.items():
                rgb = clean if kind == "clean" else jpeg(draw_censor(clean, faces[0].landmarks, kind, rng)[0], args.jpeg)
                t0 = time.perf_counter()
                res = r.restore(rgb)
                seconds.append(time.perf_counter() - t0)
                got = res.faces[0].region if res.faces and res.faces[0].status == "restored" else None
                ok = len(res.faces) == 1 and got == region
                counts[kind][0] += ok
                counts[kind][1] += 1
                if kind == "clean" and not np.array_equal(res.rgb, rgb):
                    changed_clean += 1
                if not ok:
                    wrong.append({"photo": path.name, "kind": kind, "got": got,
                                  "decision": res.faces[0].decision if res.faces else "no face"})
    right = sum(c[0] for c in counts.values())
    total = sum(c[1] for c in counts.values())
    out = {
        "faces": total,
        "accuracy": round(right / max(total, 1), 4),
        "per_kind": {k: {"right": c[0], "of": c[1]} for k, c in counts.items()},
        "clean_faces_changed": changed_clean,
        "seconds_per_face": round(float(np.mean(seconds)), 4) if seconds else None,
        "wrong": wrong,
    }
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
