"""Mosaic consistency (unmask/infer/mosaic.py): the blocks of a pixelated area are found, and only there; restored
pixels keep the block means the mosaic shows; the pipeline applies it to mosaics and to nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.infer.censors.pixelate import pixelate
from unmask.infer.mosaic import find_mosaic, keep_block_means
from unmask.infer.pipeline import Restorer


def find_cells(rgb: np.ndarray, box: tuple[int, int, int, int]) -> list:
    found = find_mosaic(rgb, box)
    return [] if found is None else found.cells()


def _mosaicked(img: np.ndarray, box: tuple[int, int, int, int], block: int) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = box
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[y0:y1, x0:x1] = 255
    return pixelate(img, mask, block), mask


@pytest.mark.parametrize("block", [4, 7, 12])
def test_finds_the_whole_blocks_of_a_mosaic_and_their_colours(astronaut, block):
    box = (150, 160, 350, 250)  # the astronaut's face and hair: texture, not flat
    censored, _ = _mosaicked(astronaut, box, block)
    cells = find_cells(censored, (box[0] - 10, box[1] - 10, box[2] + 10, box[3] + 10))
    whole = ((box[2] - box[0]) // block - 1) * ((box[3] - box[1]) // block - 1)  # edge blocks may be cut
    assert len(cells) >= 0.8 * whole
    inside = [c for c in cells if box[0] <= c.x0 and c.x1 <= box[2] and box[1] <= c.y0 and c.y1 <= box[3]]
    assert len(inside) >= 0.95 * len(cells)  # a few flat (saturated) patches of the photo next to it may count
    assert sum((c.y1 - c.y0, c.x1 - c.x0) == (block, block) for c in inside) >= 0.8 * whole  # edge blocks are cut
    for c in inside:
        assert c.y1 - c.y0 <= block and c.x1 - c.x0 <= block
        patch = censored[c.y0 : c.y1, c.x0 : c.x1].reshape(-1, 3).astype(float)
        assert np.allclose(patch.mean(0), c.colour) and np.ptp(patch, 0).max() == 0


def test_no_cells_in_a_bar_a_photo_or_a_flat_wall(astronaut, censored_astronaut):
    bar_photo, bar = censored_astronaut
    ys, xs = np.nonzero(bar)
    around = (xs.min() - 20, ys.min() - 20, xs.max() + 20, ys.max() + 20)
    assert find_cells(bar_photo, around) == []  # one flat area, no inner grid
    assert find_cells(astronaut, (100, 100, 400, 400)) == []  # a photo
    wall = np.full((120, 160, 3), 200, np.uint8)
    assert find_cells(wall, (0, 0, 160, 120)) == []
    stripes = np.repeat(np.repeat(np.arange(12, dtype=np.uint8)[None, :] * 20, 120, 0), 10, 1)  # only one direction
    assert find_cells(np.dstack([stripes] * 3), (0, 0, 120, 120)) == []


def test_keeping_block_means_brings_a_restoration_closer_to_the_original(astronaut):
    box = (150, 160, 350, 250)
    astronaut = (astronaut * 0.7 + 40).astype(np.uint8)  # away from 0 and 255, so that nothing clips below
    censored, _ = _mosaicked(astronaut, box, 8)
    found = find_mosaic(censored, box)
    cells = found.cells()
    rng = np.random.default_rng(0)
    # a "restoration": the original with invented detail and a colour cast
    guess = np.clip(astronaut.astype(np.float32) + rng.normal(0, 12, astronaut.shape) + (25, -10, 15), 0, 255).astype(
        np.uint8
    )
    in_cells = np.zeros(astronaut.shape[:2], bool)
    for c in cells:
        in_cells[c.y0 : c.y1, c.x0 : c.x1] = True
    assert in_cells[160:250, 150:350].mean() > 0.75  # whole blocks: the cut last row and column are left
    # the cast (25, -10, 15) is 317 of the 461 mean squared error; the noise (144) is detail a shift cannot fix
    err = lambda im: float(np.mean((im[in_cells].astype(np.float32) - astronaut[in_cells]) ** 2))
    exact = keep_block_means(guess.copy(), found, smooth=False)
    for c in cells:  # the exact shift is the projection: every block mean equals the mosaic's (where no clipping)
        assert np.allclose(exact[c.y0 : c.y1, c.x0 : c.x1].reshape(-1, 3).mean(0), c.colour, atol=0.6)
    smooth = keep_block_means(guess.copy(), found)
    for c in cells:  # the interpolated pass, then the exact projection of what it left: the means are the mosaic's too
        assert np.allclose(smooth[c.y0 : c.y1, c.x0 : c.x1].reshape(-1, 3).mean(0), c.colour, atol=0.6)
    assert err(exact) < 0.5 * err(guess) and err(smooth) < 0.5 * err(guess)
    outside = np.ones(astronaut.shape[:2], bool)
    outside[160:250, 150:350] = False
    assert np.array_equal(exact[outside], guess[outside])
    outside[160 - 8 : 250 + 8, 150 - 8 : 350 + 8] = False  # the smooth correction fades out over one block
    assert np.array_equal(smooth[outside], guess[outside])
    assert np.array_equal(keep_block_means(guess.copy(), found, original=guess), guess), "unrestored pixels stay"
    assert np.array_equal(keep_block_means(guess.copy(), None), guess)


def test_pipeline_keeps_mosaic_means_only_on_mosaics(
    astronaut, astronaut_face, censored_astronaut, tiny_models, finder
):
    from unmask.infer.censors import draw_censor

    pix, band = draw_censor(astronaut, astronaut_face.landmarks, "pixelate")
    on = Restorer(tiny_models, region="eyes", finder=finder).restore(pix)
    off = Restorer(tiny_models, region="eyes", finder=finder, keep_mosaic=False).restore(pix)
    assert "mosaic blocks" in on.faces[0].decision and "mosaic" not in off.faces[0].decision
    sel = band > 0
    err = lambda im: float(np.mean((im[sel].astype(np.float32) - astronaut[sel]) ** 2))
    assert err(on.rgb) < err(off.rgb)
    changed = np.any(on.rgb != off.rgb, axis=2)
    restored = np.any(off.rgb != pix, axis=2)
    assert changed[sel].mean() > 0.5 and not (changed & ~restored).any(), "only restored pixels move"
    bar_photo, _ = censored_astronaut  # a bar: nothing to keep, identical results
    a = Restorer(tiny_models, region="eyes", finder=finder).restore(bar_photo)
    b = Restorer(tiny_models, region="eyes", finder=finder, keep_mosaic=False).restore(bar_photo)
    assert np.array_equal(a.rgb, b.rgb) and "mosaic" not in a.faces[0].decision
