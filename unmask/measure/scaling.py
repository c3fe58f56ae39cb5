"""How restoring scales: 1 vs 8 faces in one photo (:func:`scaling_faces`), 0.3 to 24 megapixels
(:func:`scaling_size`), batch size (:func:`scaling_batch`); and the synthetic canvases they restore (a face tiled,
resized, or placed on a smooth background). Never prints; ``unmask bench --scaling`` renders.

Array conventions: images HxWx3 uint8 RGB.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unmask.infer.stages import READ, WRITE
from unmask.measure.generator import GeneratorBench, bench_generator

if TYPE_CHECKING:  # pragma: no cover
    from unmask.infer.pipeline import Restorer
    from unmask.infer.runtime import Model


# -- synthetic canvases -------------------------------------------------------------------------------------------
def tile(rgb: np.ndarray, rows: int, cols: int, faces: int) -> np.ndarray:
    """A ``rows x cols`` grid of cells of ``rgb``'s size whose first ``faces`` cells hold ``rgb`` and the rest its
    mean colour (same canvas whatever ``faces``, so only the number of faces changes)."""
    h, w = rgb.shape[:2]
    fill = rgb.reshape(-1, 3).mean(0).astype(np.uint8)
    canvas = np.empty((rows * h, cols * w, 3), np.uint8)
    canvas[:] = fill
    for k in range(min(faces, rows * cols)):
        r, c = divmod(k, cols)
        canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = rgb
    return canvas


def resize_to(rgb: np.ndarray, megapixels: float) -> np.ndarray:
    """``rgb`` resized (aspect kept) to about ``megapixels`` million pixels."""
    import cv2

    h, w = rgb.shape[:2]
    k = (megapixels * 1e6 / (h * w)) ** 0.5
    size = (max(16, round(w * k)), max(16, round(h * k)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC if k > 1 else cv2.INTER_AREA)


def group_canvas(rgb: np.ndarray, megapixels: float, faces: int, cols: int = 5) -> np.ndarray:
    """A canvas of about ``megapixels`` (3:2) holding ``faces`` copies of ``rgb``, each resized to fill a cell of
    a ``ceil(faces / cols) x cols`` grid, on a :func:`background`."""
    import cv2

    rows = -(-faces // cols)
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    height = int(round(width / 1.5))
    cw, ch = width // cols, height // rows
    h, w = rgb.shape[:2]
    k = min(cw / w, ch / h)
    face = cv2.resize(rgb, (int(w * k), int(h * k)), interpolation=cv2.INTER_CUBIC)
    canvas = background(rgb, width, height)
    fh, fw = face.shape[:2]
    for i in range(faces):
        r, c = divmod(i, cols)
        y0, x0 = r * ch + (ch - fh) // 2, c * cw + (cw - fw) // 2
        canvas[y0 : y0 + fh, x0 : x0 + fw] = face
    return canvas


def background(rgb: np.ndarray, width: int, height: int, seed: int = 0) -> np.ndarray:
    """A ``height x width`` smooth colour field of ``rgb``'s colours with mild grain: no face in it, and
    JPEG-coded about like a real photo (a flat fill would compress, decode and encode unrealistically fast)."""
    import cv2

    small = cv2.resize(rgb, (6, 4), interpolation=cv2.INTER_AREA)
    canvas = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = np.random.default_rng(seed).integers(-6, 7, (height, width, 1), dtype=np.int16)
    return np.clip(canvas.astype(np.int16) + grain, 0, 255).astype(np.uint8)


def on_canvas(rgb: np.ndarray, megapixels: float, seed: int = 0) -> np.ndarray:
    """``rgb`` unchanged in the middle of a 3:2 canvas of about ``megapixels`` million pixels (:func:`background`)."""
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    height = int(round(width / 1.5))
    h, w = rgb.shape[:2]
    canvas = background(rgb, max(width, w), max(height, h), seed)
    y0, x0 = (canvas.shape[0] - h) // 2, (canvas.shape[1] - w) // 2
    canvas[y0 : y0 + h, x0 : x0 + w] = rgb
    return canvas


# -- timing -------------------------------------------------------------------------------------------------------
@dataclass
class Timed:
    """A scaling point: ``label``, median seconds of ``restore`` (in memory: detect, align, infer, blend) and,
    where files were involved, of the whole ``read`` + restore + ``write`` (``total``); ``faces`` restored."""

    label: str
    restore_s: float
    faces: int
    total_s: float | None = None
    read_s: float | None = None
    write_s: float | None = None
    pixels: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _restore_time(restorer: "Restorer", rgb: np.ndarray, repeats: int) -> tuple[float, int]:
    times, faces = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = restorer.restore(rgb)
        times.append(time.perf_counter() - t0)
        faces = res.restored
    return statistics.median(times), faces


def scaling_faces(
    face_rgb: np.ndarray,
    restorer: "Restorer",
    counts: Sequence[int] = (1, 8),
    rows: int = 2,
    cols: int = 4,
    repeats: int = 3,
) -> list[Timed]:
    """Restore time of a ``rows x cols`` canvas of ``face_rgb`` cells holding each of ``counts`` faces."""
    out = []
    for k in counts:
        canvas = tile(face_rgb, rows, cols, k)
        s, found = _restore_time(restorer, canvas, repeats)
        out.append(Timed(f"{k} face" + ("s" if k != 1 else ""), s, found, pixels=canvas.shape[0] * canvas.shape[1]))
    return out


def scaling_size(
    face_rgb: np.ndarray,
    restorer: "Restorer",
    folder: str | Path,
    megapixels: Sequence[float] = (0.3, 1, 4, 12, 24),
    canvas: Sequence[float] = (24,),
    base: float = 1.0,
    repeats: int = 3,
) -> list[Timed]:
    """Per size in ``megapixels``: ``face_rgb`` resized to it (the face grows with the photo, labelled "N MP");
    per size in ``canvas``: ``face_rgb`` resized to ``base`` megapixels in the middle of a larger canvas (the same
    face, more photo around it, labelled "N MP canvas"). Each is saved as JPEG in ``folder`` and timed in memory
    (restore) and through files (:func:`unmask.infer.runner.job.process`: read, restore, write); medians of ``repeats``."""
    from PIL import Image

    from unmask.infer.runner.job import process
    from unmask.infer.runner.records import BatchOptions
    from unmask.infer.inputs import Job

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases = [(f"{mp:g} MP", lambda mp=mp: resize_to(face_rgb, mp)) for mp in megapixels]
    cases += [(f"{mp:g} MP canvas", lambda mp=mp: on_canvas(resize_to(face_rgb, base), mp)) for mp in canvas]
    out = []
    for label, make in cases:
        img = make()
        src = folder / (label.replace(" ", "-") + ".jpg")
        Image.fromarray(img).save(src, quality=92)
        s, found = _restore_time(restorer, img, repeats)
        pixels = img.shape[0] * img.shape[1]
        del img
        totals, reads, writes = [], [], []
        for _ in range(repeats):
            rec = process(Job(src, folder / "out" / src.name), restorer, BatchOptions(overwrite=True))
            totals.append(rec.seconds)
            reads.append(rec.timings.get(READ, 0.0))
            writes.append(rec.timings.get(WRITE, 0.0))
        out.append(
            Timed(
                label, s, found, statistics.median(totals), statistics.median(reads), statistics.median(writes), pixels
            )
        )
    return out


def scaling_batch(
    model: "Model", batches: Sequence[int] = (1, 4, 8), threads: int = 0, repeats: int = 5
) -> list[GeneratorBench]:
    """The generator alone (ONNX Runtime) at each batch size."""
    return [bench_generator(model, b, threads, repeats, warmup=1, count=False) for b in batches]
