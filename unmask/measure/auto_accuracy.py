"""`--region auto` on many validation faces: is each face's censor found in the right region, and is every clean
face left untouched? (issue 10: at least 98% right on 800 faces, no clean face changed)

Each photo with exactly one face found gives one case per entry of :data:`EXPECTED`: clean, and censored with the
training censors (`numpy.random.default_rng(seed + index)`), each through JPEG. The "models" paint grey
(:class:`Grey`), so only the decision (and whether pixels change) is measured. ``benchmarks/auto_accuracy.py`` is
the command line.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from unmask.infer.censors import draw_censor, jpeg
from unmask.infer.face.detect import FaceFinder
from unmask.infer.io import read_image
from unmask.infer.pipeline import Restorer
from unmask.measure.evaluate import list_photos

EXPECTED = {
    "clean": None,
    "bar": "eyes",
    "pixelate": "eyes",
    "surgical": "mouth",
    "blur": "eyes",
    "blur-mouth": "mouth",
}
"""Case -> the region ``auto`` must restore (None: nothing)."""


class Grey:
    """A stand-in generator: grey everywhere (the decision, not the painting, is measured)."""

    size = 128
    name = "grey"

    def run(self, crops: list, holes: list) -> list:
        return [np.full_like(c, 128) for c in crops]


def measure_auto(data: Path, n: int = 200, seed: int = 7, quality: int = 90) -> dict[str, Any]:
    """Accuracy per case on the first ``n`` one-face photos of ``data``, clean faces changed, the wrong cases and
    seconds per face (JSON-ready)."""
    counts = {k: [0, 0] for k in EXPECTED}
    wrong, changed_clean, seconds = [], 0, []
    with FaceFinder() as finder, Restorer({"eyes": Grey(), "mouth": Grey()}, region="auto", finder=finder) as r:
        for index, path in enumerate(list_photos(data)):
            if counts["clean"][1] >= n:
                break
            clean = read_image(path).rgb
            faces = finder.search(clean).faces
            if len(faces) != 1:
                continue
            rng = np.random.default_rng(seed + index)
            for kind, region in EXPECTED.items():
                rgb = clean if kind == "clean" else jpeg(draw_censor(clean, faces[0].landmarks, kind, rng)[0], quality)
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
                                  "decision": res.faces[0].decision if res.faces else "no face"})  # fmt: skip
    right = sum(c[0] for c in counts.values())
    total = sum(c[1] for c in counts.values())
    return {
        "faces": total,
        "accuracy": round(right / max(total, 1), 4),
        "per_kind": {k: {"right": c[0], "of": c[1]} for k, c in counts.items()},
        "clean_faces_changed": changed_clean,
        "seconds_per_face": round(float(np.mean(seconds)), 4) if seconds else None,
        "wrong": wrong,
    }
