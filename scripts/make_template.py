"""Builds unmask/infer/face/template.npy: the mean 478-point FaceMesh shape in unit crop coordinates.

Each face's landmarks are mapped by a similarity fit of five anchor points (eye centres, nose tip, mouth
corners) onto ``align.ANCHORS``; the mean over faces is the template the runtime fits all landmarks to.
Run: python scripts/make_template.py ../shared/data/celeba/train 400
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from unmask.infer.face.align import ANCHORS, anchor_points, fit_similarity
from unmask.infer.face.detect import FaceFinder


def main(folder: str, n: int) -> None:
    files = sorted(Path(folder).glob("*.jpg"))[:n]
    shapes = []
    with FaceFinder(max_faces=1) as finder:
        for f in files:
            faces = finder.search(np.asarray(Image.open(f).convert("RGB"))).faces
            if not faces:
                continue
            pts = faces[0].landmarks.astype(np.float64)
            m = fit_similarity(anchor_points(pts), ANCHORS)
            shapes.append(pts @ m[:, :2].T + m[:, 2])
    mean = np.mean(shapes, axis=0).astype(np.float32)
    out = Path(__file__).resolve().parents[1] / "unmask" / "infer" / "face" / "template.npy"
    np.save(out, mean)
    print(f"{len(shapes)} faces of {len(files)} -> {out}; y range {mean[:, 1].min():.3f}..{mean[:, 1].max():.3f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
