"""How many faces does detection find on large photos, censored or not? (issue 15)

    python benchmarks/detect_recall.py ../shared/data/celeba/val --per-cell 20 --faceless 20 > recall.json

(the benchmark's logic; ``benchmarks/detect_recall.py`` is its command line)

Canvases of :data:`CANVAS` (1600x1200) px on procedural backgrounds (value-noise textures, landscapes, shapes,
stripes) hold 2-4 validation faces, each pasted into its own cell of a 2x2 grid at 1x-2x the photo's size and
turned by the canvas's angle (0, 15, 30 or 45 degrees, either way). A cell of the benchmark is (censor kind,
angle); canvas ``j`` of an angle draws the same faces, places, scales and background for every kind (``none``,
``bar``, ``pixelate``, ``surgical``, ``blur``, ``blur-mouth``), so the censor is the only difference. The censors are the project's
randomised ones (:func:`unmask.infer.censors.draw_censor`), drawn on the face photo before it is scaled and turned, and the
canvas goes through JPEG q90. Canvases without faces (the same backgrounds) count false detections, and whether
``--region auto`` would restore anything on them.

The faces are the validation photos on which mediapipe's FaceMesh, called directly on the photo with a black border
(not through :class:`unmask.infer.face.detect.FaceFinder`, so the pool does not change with the detector being
measured), finds exactly one face; its 478 landmarks, moved with the photo, are the truth. A found face matches
a drawn one when its box centre lies inside the drawn face's landmark box and the two sizes are within 2x of each
other (one found face per drawn face). Prints one JSON object: recall by censor, by censor x angle and by censor x
scale, false detections, restorations on faceless canvases, and seconds per photo (wall and CPU).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from unmask.infer.censors import draw_censor, jpeg
from unmask.infer.io import read_image
from unmask.measure.evaluate import list_photos

if TYPE_CHECKING:
    from unmask.infer.face.detect import FaceFinder
    from unmask.infer.pipeline import Restorer

CANVAS = (1200, 1600)  # h, w
GRID = (2, 2)  # cells: rows, columns
KINDS = ("none", "bar", "pixelate", "surgical", "blur", "blur-mouth")
ANGLES = (0, 15, 30, 45)
SCALE = (1.0, 2.0)
SCALE_BINS = ((1.0, 1.33), (1.33, 1.67), (1.67, 2.0001))
FACES_PER_CANVAS = (2, 4)
BACKGROUNDS = ("texture", "landscape", "shapes", "stripes")
POOL_PAD = 0.25  # black border around a photo while its truth landmarks are taken
JPEG_QUALITY = 90
SIZE_RATIO = 2.0  # a found face matches a drawn one within this size factor


@dataclass
class Truth:
    """A face drawn on a canvas: its 478 landmarks in canvas pixels and how it was drawn."""

    landmarks: np.ndarray
    kind: str
    scale: float
    angle: int

    @property
    def box(self) -> tuple[float, float, float, float]:
        x0, y0 = self.landmarks.min(0)
        x1, y1 = self.landmarks.max(0)
        return float(x0), float(y0), float(x1), float(y1)


@dataclass
class Canvas:
    rgb: np.ndarray
    faces: list[Truth]
    name: str


# -------------------------------------------------------------------------------------------------- the faces


def face_pool(data: Path, n: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(photo, 478x2 landmarks in photo px) for the photos of ``data`` (sorted by name, at most ``n`` kept) on
    which FaceMesh finds exactly one face."""
    import mediapipe as mp

    from unmask.infer.face.quiet import native_stderr_silenced

    pool = []
    with (
        native_stderr_silenced(),
        mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=2, refine_landmarks=True, min_detection_confidence=0.5
        ) as mesh,
    ):
        for path in list_photos(data):
            rgb = read_image(path).rgb
            p = int(round(POOL_PAD * max(rgb.shape[:2])))
            padded = cv2.copyMakeBorder(rgb, p, p, p, p, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            res = mesh.process(padded)
            if not res.multi_face_landmarks or len(res.multi_face_landmarks) != 1:
                continue
            h, w = padded.shape[:2]
            pts = np.array([(q.x * w - p, q.y * h - p) for q in res.multi_face_landmarks[0].landmark], np.float32)
            pool.append((rgb, pts))
            if n is not None and len(pool) >= n:
                break
    return pool


# -------------------------------------------------------------------------------------------------- backgrounds


def _value_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 5) -> np.ndarray:
    """HxW float32 in [0, 1]: smooth random noise summed over octaves."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cells = 3 * 2**o
        small = rng.random((cells, max(2, cells * w // h))).astype(np.float32)
        out += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    out /= total
    return np.clip((out - out.min()) / max(float(np.ptp(out)), 1e-6), 0, 1)


def background(rng: np.random.Generator, kind: str, shape: tuple[int, int] = CANVAS) -> np.ndarray:
    """A procedural HxWx3 uint8 background without faces: ``texture`` (coloured value noise), ``landscape`` (sky,
    sun, noisy hills), ``shapes`` (ellipses, discs and boxes, some skin-coloured), ``stripes`` (noisy bands)."""
    h, w = shape
    if kind == "texture":
        n = _value_noise(rng, h, w)[..., None]
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        img = a * (1 - n) + b * n
    elif kind == "landscape":
        y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        img = np.broadcast_to((1 - y) * np.array([90, 150, 235]) + y * np.array([200, 220, 250]), (h, w, 3)).copy()
        cv2.circle(img, (int(rng.integers(100, w - 100)), int(rng.integers(60, h // 3))), int(rng.integers(30, 80)),
                   (255, 240, 190), -1, cv2.LINE_AA)  # fmt: skip
        for k in range(3):  # hills, nearer ones darker
            ridge = (0.35 + 0.2 * k) * h + (_value_noise(rng, h // 4, w, 3)[h // 8] - 0.5) * h * 0.3
            below = np.arange(h)[:, None] >= ridge[None, :]
            tex = _value_noise(rng, h, w, 4)[..., None]
            colour = np.array([60 + 40 * k, 120 - 20 * k, 50]) * (0.7 + 0.6 * tex)
            img = np.where(below[..., None], colour, img)
    elif kind == "shapes":
        img = np.full((h, w, 3), rng.integers(0, 256, 3), np.float64)
        for _ in range(int(rng.integers(25, 60))):
            skin = rng.random() < 0.3
            colour = (
                (rng.uniform(170, 235), rng.uniform(120, 190), rng.uniform(90, 160))
                if skin
                else tuple(rng.integers(0, 256, 3).tolist())
            )
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            r = int(rng.integers(15, 220))
            if rng.random() < 0.6:
                axes = (r, int(r * rng.uniform(0.6, 1.4)))
                cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
            else:
                cv2.rectangle(img, c, (c[0] + r, c[1] + int(r * rng.uniform(0.5, 2))), colour, -1)
    elif kind == "stripes":
        period, ang = rng.uniform(20, 160), rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        s = 0.5 + 0.5 * np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 2 * np.pi / period)
        n = _value_noise(rng, h, w, 4)
        t = (0.7 * s + 0.3 * n)[..., None]
        img = rng.integers(0, 256, 3) * (1 - t) + rng.integers(0, 256, 3) * t
    else:
        raise ValueError(f"unknown background {kind!r}")
    noise = rng.normal(0, 4, (h, w, 1))
    return np.clip(img + noise, 0, 255).astype(np.uint8)


# -------------------------------------------------------------------------------------------------- canvases


def _paste(canvas: np.ndarray, photo: np.ndarray, pts: np.ndarray, scale: float, angle: float,
           cell: tuple[int, int, int, int], rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Pastes ``photo`` scaled by ``scale`` and turned by ``angle`` degrees (counter-clockwise) at a random place
    inside ``cell`` (x0, y0, x1, y1) of ``canvas`` (in place); returns ``pts`` moved with it."""
    ph, pw = photo.shape[:2]
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, scale)
    corners = np.array([[0, 0, 1], [pw, 0, 1], [0, ph, 1], [pw, ph, 1]], np.float64) @ m.T
    lo, hi = corners.min(0), corners.max(0)
    bw, bh = int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1]))
    x0, y0, x1, y1 = cell
    ox = x0 + int(rng.integers(0, max(1, x1 - x0 - bw)))
    oy = y0 + int(rng.integers(0, max(1, y1 - y0 - bh)))
    m[:, 2] += np.array([ox, oy]) - lo
    h, w = canvas.shape[:2]
    warped = cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(np.full((ph, pw), 255, np.uint8), m, (w, h), flags=cv2.INTER_LINEAR)[..., None] / 255.0
    canvas[:] = np.round(canvas * (1 - alpha) + warped * alpha).astype(np.uint8)
    return (pts.astype(np.float64) @ m[:, :2].T + m[:, 2]).astype(np.float32)


def make_canvas(pool: list[tuple[np.ndarray, np.ndarray]], kind: str, angle: int, index: int, seed: int = 0) -> Canvas:
    """Canvas ``index`` of ``angle``, its faces censored with ``kind`` (``none``: not censored). Everything but the
    censor (faces, cells, scales, turn, background) depends on (``seed``, ``angle``, ``index``) only."""
    rng = np.random.default_rng([seed, angle, index])
    bg = BACKGROUNDS[index % len(BACKGROUNDS)]
    rgb = background(rng, bg)
    n = int(rng.integers(FACES_PER_CANVAS[0], FACES_PER_CANVAS[1] + 1))
    picks = rng.choice(len(pool), n, replace=False)
    cells = rng.choice(GRID[0] * GRID[1], n, replace=False)
    ch, cw = CANVAS[0] // GRID[0], CANVAS[1] // GRID[1]
    censor_rng = np.random.default_rng([seed, angle, index, KINDS.index(kind) if kind in KINDS else 99])
    faces = []
    for pick, cell in zip(picks, cells):
        photo, pts = pool[int(pick)]
        scale = float(rng.uniform(*SCALE))
        turn = float(angle * rng.choice([-1, 1]))
        if kind != "none":
            photo, _ = draw_censor(photo, pts, kind, censor_rng)
        r, c = divmod(int(cell), GRID[1])
        moved = _paste(rgb, photo, pts, scale, turn, (c * cw, r * ch, (c + 1) * cw, (r + 1) * ch), rng)
        faces.append(Truth(moved, kind, scale, angle))
    return Canvas(jpeg(rgb, JPEG_QUALITY), faces, f"{kind}-a{angle}-{index}-{bg}")


def faceless_canvas(index: int, seed: int = 0) -> Canvas:
    """A background alone (the same kinds as behind the faces), JPEG q90."""
    rng = np.random.default_rng([seed, 1000 + index])
    bg = BACKGROUNDS[index % len(BACKGROUNDS)]
    return Canvas(jpeg(background(rng, bg), JPEG_QUALITY), [], f"faceless-{index}-{bg}")


# -------------------------------------------------------------------------------------------------- scoring


def match(found_boxes: list[tuple[float, float, float, float]], truth: list[Truth]) -> tuple[list[bool], int]:
    """Which drawn faces were found, and how many found faces match none (false detections). A found box matches
    a drawn face when its centre lies inside the face's landmark box and their sizes are within
    :data:`SIZE_RATIO`; each found box matches at most one face (the nearest)."""
    hit = [False] * len(truth)
    extra = 0
    for b in found_boxes:
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        size = max(b[2] - b[0], b[3] - b[1])
        best, best_d = None, np.inf
        for k, t in enumerate(truth):
            x0, y0, x1, y1 = t.box
            tsize = max(x1 - x0, y1 - y0)
            if hit[k] or not (x0 <= cx <= x1 and y0 <= cy <= y1):
                continue
            if not 1 / SIZE_RATIO <= size / max(tsize, 1e-6) <= SIZE_RATIO:
                continue
            d = np.hypot(cx - (x0 + x1) / 2, cy - (y0 + y1) / 2)
            if d < best_d:
                best, best_d = k, d
        if best is None:
            extra += 1
        else:
            hit[best] = True
    return hit, extra


def _scale_bin(scale: float) -> str:
    for lo, hi in SCALE_BINS:
        if lo <= scale < hi:
            return f"{lo:.2f}-{min(hi, SCALE[1]):.2f}"
    return "other"


def _rate(hits: list[bool]) -> dict:
    return {"found": int(sum(hits)), "of": len(hits), "recall": round(sum(hits) / max(len(hits), 1), 4)}


def measure(
    finder: FaceFinder,
    pool: list[tuple[np.ndarray, np.ndarray]],
    per_cell: int,
    faceless: int,
    seed: int = 0,
    kinds: tuple[str, ...] = KINDS,
    angles: tuple[int, ...] = ANGLES,
    restorer: Restorer | None = None,
) -> dict:
    """Runs ``finder.search`` on every canvas and scores it (see the module's docstring). ``restorer`` (optional, a
    ``Restorer`` sharing ``finder``, region ``auto``) is run on the faceless canvases to count restorations."""
    rows: list[dict] = []
    wall: list[float] = []
    cpu: list[float] = []
    extra_on_faces = 0
    extra_names: list[str] = []
    for angle in angles:
        for index in range(per_cell):
            for kind in kinds:
                canvas = make_canvas(pool, kind, angle, index, seed)
                t0, c0 = time.perf_counter(), time.process_time()
                found = finder.search(canvas.rgb).faces
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                hit, extra = match([f.box for f in found], canvas.faces)
                extra_on_faces += extra
                if extra:
                    extra_names.append(canvas.name)
                rows += [{"kind": t.kind, "angle": t.angle, "scale": _scale_bin(t.scale), "found": h, "canvas": canvas.name}
                         for t, h in zip(canvas.faces, hit)]  # fmt: skip
    false_faceless, restored_faceless, faceless_names = 0, 0, []
    for index in range(faceless):
        canvas = faceless_canvas(index, seed)
        t0, c0 = time.perf_counter(), time.process_time()
        found = finder.search(canvas.rgb).faces
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        false_faceless += len(found)
        if found:
            faceless_names.append(canvas.name)
        if restorer is not None:
            restored_faceless += restorer.restore(canvas.rgb).restored
    out: dict = {"faces": len(rows), "canvases": len(wall), "by_kind": {}, "by_kind_angle": {}, "by_kind_scale": {}}
    for kind in kinds:
        mine = [r for r in rows if r["kind"] == kind]
        out["by_kind"][kind] = _rate([r["found"] for r in mine])
        out["by_kind_angle"][kind] = {str(a): _rate([r["found"] for r in mine if r["angle"] == a]) for a in angles}
        out["by_kind_scale"][kind] = {s: _rate([r["found"] for r in mine if r["scale"] == s])
                                      for s in sorted({r["scale"] for r in mine})}  # fmt: skip
    out["false_detections_on_face_canvases"] = extra_on_faces
    out["extra_on"] = extra_names
    out["faceless"] = {"canvases": faceless, "faces_found": false_faceless, "restored": restored_faceless if restorer else None,
                       "with_faces": faceless_names}  # fmt: skip
    out["seconds_per_photo"] = {"wall_mean": round(float(np.mean(wall)), 4), "wall_median": round(float(np.median(wall)), 4),
                                "cpu_mean": round(float(np.mean(cpu)), 4)}  # fmt: skip
    out["missed"] = [r["canvas"] for r in rows if not r["found"]]
    return out


def markdown(result: dict) -> str:
    """The recall table (censor x angle, then all angles) and the other numbers, as markdown."""
    angles = list(next(iter(result["by_kind_angle"].values())))
    lines = [
        "| censor | " + " | ".join(f"{a} deg" for a in angles) + " | all |",
        "| --- |" + " --- |" * (len(angles) + 1),
    ]
    for kind, per in result["by_kind_angle"].items():
        cells = [f"{v['found']}/{v['of']} ({100 * v['recall']:.1f}%)" for v in per.values()]
        total = result["by_kind"][kind]
        lines.append(
            f"| {kind} | " + " | ".join(cells) + f" | {total['found']}/{total['of']} ({100 * total['recall']:.1f}%) |"
        )
    s, f = result["seconds_per_photo"], result["faceless"]
    lines.append("")
    lines.append(f"false detections: {result['false_detections_on_face_canvases']} on face canvases, {f['faces_found']} on "
                 f"{f['canvases']} faceless canvases (restored there: {f['restored']}); seconds per photo: wall mean "
                 f"{s['wall_mean']}, median {s['wall_median']}, CPU mean {s['cpu_mean']}")  # fmt: skip
    return "\n".join(lines)
