"""Classic inpainting baselines: only the hole changes, smooth content is recovered, ``none`` is identity."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.measure.baselines import BASELINES, Baseline, get_baseline

SIZE = 64


def _gradient() -> np.ndarray:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    img = np.stack([40 + 2.5 * x, 60 + 2.0 * y, 100 + 1.0 * x + 1.0 * y], -1)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _hole() -> np.ndarray:
    h = np.zeros((SIZE, SIZE), np.uint8)
    h[24:36, 14:50] = 255  # a 12 px band, like a small eye bar
    return h


@pytest.mark.parametrize("name", ["telea", "ns"])
def test_opencv_baselines_fill_only_the_hole(name: str) -> None:
    truth, hole = _gradient(), _hole()
    censored = truth.copy()
    censored[hole > 0] = 0  # black bar
    before = censored.copy()
    b = get_baseline(name, SIZE)
    [out] = b.run([censored], [hole])
    assert out.shape == truth.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(censored, before)  # input untouched
    np.testing.assert_array_equal(out[hole == 0], censored[hole == 0])
    err_before = np.abs(censored[hole > 0].astype(float) - truth[hole > 0]).mean()
    err = np.abs(out[hole > 0].astype(float) - truth[hole > 0]).mean()
    assert err_before > 50
    assert err < 8, f"{name}: mean abs error {err:.1f} grey levels in the hole of a smooth gradient"


def test_none_is_identity_and_batches() -> None:
    truth, hole = _gradient(), _hole()
    censored = truth.copy()
    censored[hole > 0] = 0
    b = get_baseline("none")
    outs = b.run([censored, truth], [hole, hole])
    assert len(outs) == 2
    np.testing.assert_array_equal(outs[0], censored)
    np.testing.assert_array_equal(outs[1], truth)
    assert outs[0] is not censored  # a copy, not an alias


def test_interface_and_meta() -> None:
    assert BASELINES == ("telea", "ns", "none")
    b = get_baseline("telea", 96)
    assert isinstance(b, Baseline) and b.name == "telea"
    assert b.meta.size == 96 and b.meta.region is None and b.meta.name == "telea"
    assert get_baseline("ns").meta.size == 128
    assert b.run([], []) == []
    # an empty hole leaves the crop as it was
    img = _gradient()
    np.testing.assert_array_equal(b.run([img], [np.zeros((SIZE, SIZE), np.uint8)])[0], img)


def test_errors() -> None:
    with pytest.raises(ValueError, match="unknown baseline 'lama'.*telea, ns, none"):
        get_baseline("lama", 128)
    b = get_baseline("telea", SIZE)
    img, hole = _gradient(), _hole()
    with pytest.raises(ValueError, match="masks"):
        b.run([img, img], [hole])
    with pytest.raises(ValueError, match="does not match"):
        b.run([img], [hole[:, :-1]])
    with pytest.raises(ValueError, match="uint8"):
        b.run([img.astype(np.float32)], [hole])
