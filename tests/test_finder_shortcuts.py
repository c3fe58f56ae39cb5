"""The censor finders' shortcuts (issue 29) choose exactly what the plain computations choose: the mosaic finder's
lattice search skips only phases that cannot win, and the bar finder's moved-core test rejects early only what the
full test rejects."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.infer.censors import bar, pixelate


def _plain_period(profile: np.ndarray, max_p: int) -> tuple[int, int, float, float] | None:
    """The lattice search as defined: every period and phase, in order, the first clearly best kept."""
    n, best = len(profile), None
    for p in range(pixelate.MIN_BLOCK, min(max_p, n // 3) + 1):
        for phase in range(p):
            on = profile[phase::p]
            if len(on) < 3:
                continue
            off = (profile.sum() - on.sum()) / max(n - len(on), 1)
            line = float(on.mean())
            ratio = line / max(off, 0.5)
            if best is None or ratio > best[2] * 1.05:
                best = (p, phase, ratio, line)
    if best is None or best[2] < pixelate.LATTICE_RATIO or best[3] < pixelate.MIN_EDGE:
        return None
    return best


def test_lattice_search_finds_what_the_plain_search_finds() -> None:
    rng = np.random.default_rng(29)
    found = 0
    for _ in range(400):
        n = int(rng.integers(10, 160))
        profile = (rng.random(n) * rng.choice([1.0, 5.0, 30.0])).astype(np.float32)
        if rng.random() < 0.6:  # a lattice: strong changes every `period` lines
            period = int(rng.integers(3, 14))
            profile[int(rng.integers(0, period)) :: period] += np.float32(rng.random() * 90)
        max_p = int(rng.integers(3, 48))
        got = pixelate._period(profile, max_p)
        assert got == _plain_period(profile, max_p)
        found += got is not None
    assert found > 50  # lattices were there to be found, not only noise


@pytest.mark.parametrize("seed", range(3))
def test_moved_core_colour_rejects_early_only_what_the_full_test_rejects(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(150):
        base = rng.integers(0, 256, 3)
        f = (base + rng.normal(0, rng.choice([2.0, 8.0, 20.0]), (40, 60, 3))).clip(0, 255).astype(np.float32)
        area = rng.random((40, 60)) < rng.choice([0.002, 0.3, 0.9])
        full = bar._colour(f, area, share=bar.MODE_SHARE)
        plain = None if full is None or full[1] > bar.SHIFT_TOL or bar._skin_hue(full[0]) else full
        early = bar._colour(f, area, share=bar.MODE_SHARE, flat=True)
        assert (early is None) == (plain is None)
        if early is not None:
            assert np.array_equal(early[0], plain[0]) and early[1] == plain[1]
