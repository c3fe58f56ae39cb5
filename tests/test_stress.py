"""The stress benchmark's own censors (unmask.measure.stress_draw) and its run (unmask.measure.stress)."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.measure.stress_draw import (
    BLOCK_MAX_IOD,
    BLOCK_PX,
    DRAW,
    closeup,
    draw_mask,
    frame,
    mosaic_params,
    outline,
    pixelated,
    tone_shift,
)


def _noise(h: int = 120, w: int = 160) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (h, w, 3)).astype(np.uint8)


@pytest.mark.parametrize("whole", [True, False])
def test_pixelated_cuts_edge_blocks_on_an_offset_lattice(whole):
    img = _noise()
    from unmask.measure.stress_draw import coverage

    poly = outline("ellipse", np.array([80.0, 60.0]), np.array([0.96, 0.28]), np.array([-0.28, 0.96]), 55, 30)
    inside = coverage(img.shape, poly, False) > 0
    out = pixelated(img, inside, (7, 11), (3, 5), whole)
    assert np.array_equal(out[~inside], img[~inside])  # nothing beyond the outline changes
    cut = 0
    for y0 in range(3 - 7, 120, 7):
        for x0 in range(5 - 11, 160, 11):
            ys, xs = slice(max(y0, 0), max(y0 + 7, 0)), slice(max(x0, 0), max(x0 + 11, 0))
            sel = inside[ys, xs]
            if not sel.any():
                continue
            vals = out[ys, xs][sel]
            assert (vals == vals[0]).all()  # one colour per lattice cell inside the outline
            src = img[ys, xs].reshape(-1, 3) if whole else img[ys, xs][sel]
            assert np.abs(vals[0].astype(float) - src.astype(float).mean(0)).max() <= 0.5 + 1e-9
            cut += not sel.all()
    assert cut > 10  # the outline cuts many blocks


def test_mosaic_blocks_stay_in_range():
    rng = np.random.default_rng(0)
    sides = np.array([mosaic_params(120.0, rng) for _ in range(400)])
    assert sides.min() >= BLOCK_PX[0] and sides.max() <= BLOCK_PX[1]
    assert (sides[:, 0] != sides[:, 1]).mean() > 0.2  # non-square blocks
    small = np.array([mosaic_params(30.0, rng) for _ in range(100)])
    assert small.max() <= max(BLOCK_PX[0], round(BLOCK_MAX_IOD * 30.0))


def test_tone_shift_and_closeup_change_the_photo(astronaut, astronaut_face):
    rng = np.random.default_rng(1)
    shifted = [tone_shift(astronaut, rng).mean((0, 1)) for _ in range(6)]
    assert np.ptp([s.mean() for s in shifted]) > 15  # light changes
    assert np.ptp([s[0] / s[2] for s in shifted]) > 0.1  # so does the colour balance
    crop = closeup(astronaut, astronaut_face.landmarks, rng)
    fw = np.ptp(astronaut_face.landmarks[:, 0])
    assert crop.shape[1] >= 2 * fw  # enlarged, and the face fills the width
    assert crop.shape[1] / crop.shape[0] < 1.3


@pytest.mark.parametrize("kind", list(DRAW))
def test_each_censor_changes_its_pixels_only(kind, astronaut, astronaut_face):
    for seed in range(3):
        out, censor = DRAW[kind](astronaut, astronaut_face.landmarks, np.random.default_rng(seed))
        changed = np.any(out != astronaut, axis=2)
        assert not (changed & (censor == 0)).any()
        assert changed[censor > 0].mean() > 0.5


def test_masks_run_below_the_chin_and_beyond_the_face(astronaut, astronaut_face):
    pts = astronaut_face.landmarks
    c, u, n, d = frame(pts)
    below, wider = [], []
    for seed in range(8):
        _, censor = draw_mask(astronaut, pts, np.random.default_rng(seed))
        ys, xs = np.nonzero(censor)
        q = np.stack([xs, ys], 1) - c
        below.append(((q @ n).max() - (pts[152] - c) @ n) / d)
        wider.append(np.abs(q @ u).max() / np.abs((pts - c) @ u).max())
    assert max(below) > 0.8 and min(below) > -0.05
    assert max(wider) > 1.1


def test_stress_run_scores_every_kind(val_dir, finder, tiny_models):
    from unmask.measure.stress import run_stress, table

    report = run_stress(val_dir, tiny_models, finder, n=2, seed=0)
    assert [r.kind for r in report.records] == [k for k in DRAW for _ in range(2)]
    for r in report.records:
        assert r.censor > 0 and 0 <= r.left <= r.censor
        assert r.status in ("found", "missed", "wrong-kind", "lost")
    s = report.score("surgical")
    assert s.faces == 2 and 0 <= s.found <= 1
    assert table(report).count("\n") == len(DRAW) + 1
