"""The README's full-resolution pictures: censored input | restored | original | restored area outlined, at the
photos' own resolution (no crop, no resize), for validation faces and one larger photo.

Run: python scripts/readme_pictures.py ../shared/data/celeba/val --out docs/img
Writes fullres-bar.png, fullres-pixelate.png, fullres-surgical.png (a few validation faces each, censored with
the project's randomised censors and JPEG q90, restored with the default models as `unmask PHOTO` does) and
fullres-astronaut.png (scikit-image's public-domain 512x512 astronaut portrait with an eye bar). The results are
synthetic.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from unmask.infer.censors import draw_censor, jpeg
from unmask.infer.face.detect import FaceFinder
from unmask.infer.io import read_image
from unmask.measure.evaluate import list_photos
from unmask.infer.pipeline import Restorer, load_models
from unmask.spec import KIND_REGION

LABELS = ("censored input", "restored (synthetic)", "original", "restored area")
FONT = cv2.FONT_HERSHEY_SIMPLEX


def outlined(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``rgb`` with the outline of ``hole`` (HxW uint8) drawn in magenta, one pixel wide."""
    out = rgb.copy()
    edge = cv2.morphologyEx((hole > 0).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    out[edge & ~(cv2.erode((hole > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)] = (255, 0, 255)
    return out


def label_row(widths: list[int]) -> np.ndarray:
    strips = []
    for text, w in zip(LABELS, widths):
        strip = np.full((20, w, 3), 255, np.uint8)
        scale = 0.4
        while scale > 0.25 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > w - 4:
            scale -= 0.05
        (tw, th), _ = cv2.getTextSize(text, FONT, scale, 1)
        cv2.putText(strip, text, ((w - tw) // 2, (20 + th) // 2), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
        strips.append(strip)
    return np.concatenate(strips, axis=1)


def row(censored: np.ndarray, restored: np.ndarray, original: np.ndarray, hole: np.ndarray) -> np.ndarray:
    gap = np.full((censored.shape[0], 4, 3), 255, np.uint8)
    parts = [censored, restored, original, outlined(restored, hole)]
    return np.concatenate([p for part in parts for p in (part, gap)][:-1], axis=1)


def stack(rows: list[np.ndarray]) -> np.ndarray:
    w = max(r.shape[1] for r in rows)
    padded = [np.pad(r, ((0, 4), (0, w - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(padded, axis=0)


def save(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--out", type=Path, default=Path("docs/img"))
    ap.add_argument("--faces", type=int, default=4)
    ap.add_argument("--start", type=int, default=20, help="index of the first validation photo used")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    with FaceFinder() as finder:
        for kind in ("bar", "pixelate", "surgical"):
            region = KIND_REGION[kind]
            with Restorer(load_models(None, region, "cpu"), region=region, finder=finder) as restorer:
                rows = []
                for index, path in enumerate(list_photos(args.data)[args.start :], start=args.start):
                    clean = read_image(path).rgb
                    faces = finder.search(clean).faces
                    if len(faces) != 1:
                        continue
                    censored, _ = draw_censor(clean, faces[0].landmarks, kind, np.random.default_rng(args.seed + index))
                    censored = jpeg(censored, 90)
                    res = restorer.restore(censored, want_mask=True)
                    if res.restored != 1:
                        continue
                    rows.append(row(censored, res.rgb, clean, res.hole))
                    if len(rows) == args.faces:
                        break
                widths = [rows[0].shape[1] // 4 - 3] * 4
                save(args.out / f"fullres-{kind}.png", stack([label_row(widths), *rows]))
        from skimage import data

        astronaut = data.astronaut()
        face = finder.search(astronaut).faces[0]
        censored, _ = draw_censor(astronaut, face.landmarks, "bar")
        censored = jpeg(censored, 90)
        with Restorer(load_models(None, "eyes", "cpu"), region="eyes", finder=finder) as restorer:
            res = restorer.restore(censored, want_mask=True)
        r = row(censored, res.rgb, astronaut, res.hole)
        save(args.out / "fullres-astronaut.png", stack([label_row([astronaut.shape[1] + 1] * 4), r]))


if __name__ == "__main__":
    main()
