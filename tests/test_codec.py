"""The codec: crops, holes and guides to model tensors and back, one definition for runtime, dataset and export;
and the one hole test, :func:`unmask.spec.is_hole`."""

from __future__ import annotations

import numpy as np
import pytest

from unmask.codec import CHANNELS, Codec, crops_of, fill_hole, hole_of, image_tensor, mask_tensor
from unmask.edges import NO_GUIDE, EdgeGuide, canny_edges
from unmask.spec import HOLE, HOLE_FILLS, is_hole

RANGES = [(-1.0, 1.0), (0.0, 1.0), (0.0, 255.0)]


def _batch(n: int = 2, s: int = 16, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    crops = list(rng.integers(0, 256, (n, s, s, 3), dtype=np.uint8))
    holes = []
    for i in range(n):
        h = np.zeros((s, s), np.uint8)
        h[3 + i : 9, 2 : 11 - i] = HOLE
        holes.append(h)
    return crops, holes


def test_is_hole_is_above_half_of_hole() -> None:
    m = np.arange(256, dtype=np.uint8).reshape(16, 16)
    got = is_hole(m)
    assert got.dtype == bool and got.shape == m.shape
    assert not got.flat[:128].any() and got.flat[128:].all()  # 0..127 keep, 128..255 hole


@pytest.mark.parametrize("value_range", RANGES)
def test_round_trip_is_exact(value_range: tuple[float, float]) -> None:
    rgb = np.arange(256 * 3, dtype=np.int64).reshape(16, 16, 3) % 256
    rgb = rgb.astype(np.uint8)
    x = image_tensor(rgb, value_range)
    assert x.shape == (3, 16, 16) and x.dtype == np.float32
    assert x.min() == pytest.approx(value_range[0]) and x.max() == pytest.approx(value_range[1])
    np.testing.assert_array_equal(crops_of(x, value_range), rgb)
    batch = np.stack([rgb, rgb[::-1]])
    np.testing.assert_array_equal(crops_of(image_tensor(batch, value_range), value_range), batch)


def test_rounding_rule_is_half_up_and_clipped() -> None:
    # values in 0..255 units: a tie goes up (numpy's and torch's round() would send 0.5 and 2.5 to even)
    v = np.array([0.5, 1.49, 1.5, 2.5, 254.5, 300.0, -7.0, -0.4], np.float32)
    y = np.broadcast_to(v[None, None, None, :], (1, 3, 1, len(v)))
    got = crops_of(y, (0.0, 255.0))[0, 0, :, 0]
    assert got.tolist() == [1, 1, 2, 3, 255, 255, 0, 0]
    assert crops_of(np.full((3, 1, 1), 0.0, np.float32), (-1.0, 1.0)).item(0) == 128  # mid-grey 127.5 -> 128


def test_mask_tensor_and_back() -> None:
    hole = np.array([[0, 127, 128, 255]], np.uint8)
    m = mask_tensor(hole)
    assert m.shape == (1, 1, 4) and m.dtype == np.float32
    assert m.ravel().tolist() == [0.0, 0.0, 1.0, 1.0]
    assert hole_of(m[0]).ravel().tolist() == [0, 0, HOLE, HOLE]


@pytest.mark.parametrize("hole_fill", HOLE_FILLS)
def test_each_hole_fill(hole_fill: str) -> None:
    crops, holes = _batch()
    feed = Codec((-1.0, 1.0), hole_fill, ("image", "mask")).encode(crops, holes)
    assert set(feed) == {"image", "mask"}
    image, mask = feed["image"], feed["mask"]
    assert image.shape == (2, 3, 16, 16) and mask.shape == (2, 1, 16, 16)
    inside = np.broadcast_to(mask.astype(bool), image.shape)
    expected = image_tensor(np.stack(crops), (-1.0, 1.0))
    np.testing.assert_array_equal(image[~inside], expected[~inside])  # outside the hole: the crop
    if hole_fill == "zero":
        assert (image[inside] == 0).all()
    else:  # keep: the censor's own pixels
        np.testing.assert_array_equal(image[inside], expected[inside])


def test_unknown_hole_fill_and_inputs_are_errors() -> None:
    with pytest.raises(ValueError, match="hole_fill"):
        Codec((-1.0, 1.0), "blur", ("image", "mask"))
    with pytest.raises(ValueError, match="hole_fill"):
        fill_hole(np.zeros((3, 2, 2), np.float32), np.zeros((1, 2, 2), np.float32), "blur")
    with pytest.raises(ValueError, match="depth"):
        Codec((-1.0, 1.0), "zero", ("image", "mask", "depth"))


def test_extra_inputs_edges_and_guide() -> None:
    crops, holes = _batch()
    codec = Codec((-1.0, 1.0), "zero", ("image", "mask", "edges", "guide"), {"canny": [10.0, 30.0]})
    lines = np.zeros((16, 16), np.uint8)
    lines[::4] = 255
    guide = EdgeGuide(lines, np.full((16, 16), 255, np.uint8))
    feed = codec.encode(crops, holes, [None, guide])
    assert list(feed) == ["image", "mask", "edges", "guide"]
    assert all(v.dtype == np.float32 and v.shape[:2] == (2, CHANNELS[k]) for k, v in feed.items())
    # inference: the censored crop's edges with the model's thresholds, none in the hole
    np.testing.assert_array_equal(feed["edges"][0, 0], canny_edges(crops[0], holes[0], (10.0, 30.0)))
    assert (feed["edges"][:, 0][is_hole(np.stack(holes))] == 0).all()
    assert (feed["guide"][0] == NO_GUIDE).all() and set(np.unique(feed["guide"][1])) == {0.0, 1.0}
    # training: the clean crop's edges, over the whole crop
    truth = [c[::-1].copy() for c in crops]
    trained = codec.encode(crops, holes, truth=truth)
    np.testing.assert_array_equal(trained["edges"][1, 0], canny_edges(truth[1], thresholds=(10.0, 30.0)))
    assert (trained["guide"] == NO_GUIDE).all()


def test_codec_of_meta_and_spec_agree() -> None:
    from unmask.train import archs
    from unmask.spec import meta_from_spec

    spec = archs.spec("edgeconnect")
    a = Codec.of_spec(spec)
    b = Codec.of_meta(meta_from_spec(spec, spec.default_preset, "eyes"))
    assert a == b and a.inputs == ("image", "mask", *spec.extra_inputs) and a.hole_fill == spec.hole_fill
    assert Codec.of_spec(spec, "keep").hole_fill == "keep"
