"""Data preparation (photo folder -> cached aligned crops), the censoring dataset and its sampler.

Real-face tests use a few photos of ``../shared/data/celeba/val`` (skipped when absent) at the ``tiny`` crop size;
cache and resume logic is also tested with a fake cropper so it runs without mediapipe.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import fake_prepare
from fake_prepare import Interrupt, stop_after
from unmask.train.data.prepare import CropStore, PrepareError, prepare

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
VAL = SHARED / "data" / "celeba" / "val"
SIZE = 32  # the tiny presets' crop side


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread: None) -> None:
    """Every test here runs torch on one thread (conftest.one_torch_thread)."""


def face_folder(tmp_path_factory: pytest.TempPathFactory, n: int) -> Path:
    """A folder with the first ``n`` validation photos (shared by the test modules of one session)."""
    if not VAL.is_dir():
        pytest.skip(f"validation faces not found at {VAL} (../shared is not available)")
    folder = tmp_path_factory.getbasetemp() / f"faces-{n}"
    if not folder.is_dir():
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(exist_ok=True)
        for p in sorted(VAL.glob("*.jpg"))[:n]:
            shutil.copy(p, tmp / p.name)
        tmp.rename(folder)
    return folder


@pytest.fixture(scope="session")
def real_prepared(tmp_path_factory: pytest.TempPathFactory):
    """10 real photos plus a broken file and a blank picture, prepared at 32 px."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("mixed")
    for p in sorted(face_folder(tmp_path_factory, 10).glob("*.jpg")):
        shutil.copy(p, folder / p.name)
    (folder / "zz_broken.jpg").write_bytes(b"not a jpeg at all")
    Image.new("RGB", (200, 200), (128, 128, 128)).save(folder / "zz_blank.png")
    return prepare(folder, SIZE, tmp_path_factory.mktemp("cache"))


# -- fake cropper: deterministic, no mediapipe ------------------------------------------------------------------
CALLS: list[str] = []


class FakeCropper(fake_prepare.FakeCropper):
    """Crop = a colour from the file's bytes; landmarks = a template; files named bad* have no face."""

    calls = CALLS

    def face(self, path: Path):
        v = sum(path.read_bytes()) % 251
        crop = np.full((self.size, self.size, 3), v, np.uint8)
        from unmask.infer.face.align import template

        return crop, (template() * self.size).astype(np.float32)


def fake_folder(root: Path, n: int, bad: tuple[int, ...] = ()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = f"bad{i:03d}.jpg" if i in bad else f"img{i:03d}.jpg"
        (root / name).write_bytes(bytes([i, i + 1, i + 2]))
    return root


# -- preparation -----------------------------------------------------------------------------------------------
def test_prepare_real_photos_and_unusable_ones(real_prepared, tmp_path_factory):
    p = real_prepared
    assert p.total == 12
    reasons = dict(p.failed)
    assert reasons["zz_broken.jpg"].startswith("unreadable")
    assert reasons["zz_blank.png"] == "no face found"
    assert p.count == p.total - len(p.failed) >= 9  # at most one real photo may lack a usable face
    manifest = json.loads((p.root / "manifest.json").read_text())
    assert manifest["complete"] and manifest["size"] == SIZE
    store = CropStore(p.root)
    assert len(store) == p.count
    crop, lm = store.crop(0), store.landmarks(0)
    assert crop.shape == (SIZE, SIZE, 3) and crop.dtype == np.uint8 and crop.flags.writeable
    assert lm.shape == (478, 2) and lm.dtype == np.float32
    # the aligned face sits inside the crop: the landmarks' box covers a good part of it, centred
    assert 0 <= lm.min() and lm.max() < SIZE
    assert abs(lm[:, 0].mean() - SIZE / 2) < SIZE * 0.1

    # a second pass is a cache hit: the cropper is never built
    def no_cropper(size: int):
        raise AssertionError("cache miss")

    again = prepare(p.folder, SIZE, p.root.parent, cropper=no_cropper)
    assert again.root == p.root and again.count == p.count


def test_prepare_resumes_after_interruption(tmp_path):
    folder = fake_folder(tmp_path / "photos", 7, bad=(3,))
    cache = tmp_path / "cache"
    CALLS.clear()
    with pytest.raises(Interrupt):
        prepare(folder, 8, cache, shard_size=2, cropper=FakeCropper, progress=stop_after(3))
    assert len(CALLS) == 3  # shard 0 (2 photos) written, shard 1 interrupted
    CALLS.clear()
    seen = []
    p = prepare(folder, 8, cache, shard_size=2, cropper=FakeCropper, progress=lambda d, t, f: seen.append((d, t, f)))
    # names sort as bad003, img000, img001, ...: shard 0 (bad003, img000) was kept, shards 1..3 are redone
    assert CALLS == ["img001.jpg", "img002.jpg", "img004.jpg", "img005.jpg", "img006.jpg"]
    assert seen[0] == (2, 7, 1) and seen[-1] == (7, 7, 1)
    assert p.count == 6 and p.failed == (("bad003.jpg", "no face found"),)
    store = CropStore(p.root)
    fresh = prepare(fake_folder(tmp_path / "copy", 7, bad=(3,)), 8, tmp_path / "cache2", cropper=FakeCropper)
    other = CropStore(fresh.root)
    assert [store.crop(i)[0, 0, 0] for i in range(6)] == [other.crop(i)[0, 0, 0] for i in range(6)]
    assert store.names == other.names


def test_cache_key_follows_size_and_files(tmp_path):
    folder = fake_folder(tmp_path / "photos", 3)
    a = prepare(folder, 8, tmp_path / "c", cropper=FakeCropper)
    b = prepare(folder, 12, tmp_path / "c", cropper=FakeCropper)
    (folder / "img999.jpg").write_bytes(b"\x01\x02")
    c = prepare(folder, 8, tmp_path / "c", cropper=FakeCropper)
    d = prepare(folder, 8, tmp_path / "c", cropper=FakeCropper, limit=3)
    assert len({a.root, b.root, c.root}) == 3
    assert d.root == a.root  # the same first three photos


def test_prepare_errors(tmp_path):
    with pytest.raises(PrepareError, match="not a folder"):
        prepare(tmp_path / "missing", 8, tmp_path / "c")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PrepareError, match="no photos"):
        prepare(tmp_path / "empty", 8, tmp_path / "c")
    folder = fake_folder(tmp_path / "allbad", 2, bad=(0, 1))
    with pytest.raises(PrepareError, match="no usable face"):
        prepare(folder, 8, tmp_path / "c", cropper=FakeCropper)
    with pytest.raises(PrepareError, match="not a finished crop cache"):
        CropStore(tmp_path / "empty")


def test_prepare_pool_matches_single_process(tmp_path):
    folder = fake_folder(tmp_path / "photos", 9, bad=(4,))
    one = prepare(folder, 8, tmp_path / "a", cropper=FakeCropper)
    two = prepare(folder, 8, tmp_path / "b", cropper=FakeCropper, workers=2)
    s1, s2 = CropStore(one.root), CropStore(two.root)
    assert s1.names == s2.names and len(s1) == 8
    assert all(np.array_equal(s1.crop(i), s2.crop(i)) for i in range(len(s1)))


# -- augmentation -----------------------------------------------------------------------------------------------
def test_flip_mirrors_landmark_identities(real_prepared):
    from unmask.train.data.augment import flip_face, mirror_permutation
    from unmask.infer.face import landmarks as L

    perm = mirror_permutation()
    assert np.array_equal(perm[perm], np.arange(478))
    assert set(perm[list(L.RIGHT_EYE)]) == set(L.LEFT_EYE)
    store = CropStore(real_prepared.root)
    crop, lm = store.crop(0), store.landmarks(0)
    fc, fl = flip_face(crop, lm)
    assert np.array_equal(fc, crop[:, ::-1])
    # the subject's right eye stays on the image's left after flipping (indices follow the anatomy)
    assert fl[list(L.RIGHT_EYE), 0].mean() < fl[list(L.LEFT_EYE), 0].mean()
    back_c, back_l = flip_face(fc, fl)
    assert np.array_equal(back_c, crop) and np.allclose(back_l, lm, atol=1e-4)


# -- dataset ----------------------------------------------------------------------------------------------------
def _dataset(prepared, arch, train, hole_fill=None, kinds=None, seed=0):
    from unmask.train import archs
    from unmask.train.data.dataset import CensorDataset

    spec = archs.spec(arch)
    kinds = kinds or {"bar": 0.5, "pixelate": 0.3, "freeform": 0.2}
    return CensorDataset(CropStore(prepared.root), spec, kinds, hole_fill or spec.hole_fill, train=train, seed=seed)


def test_dataset_batch_contract(real_prepared):
    from unmask.train.data.dataset import from_range
    from unmask.edges import canny_edges

    ds = _dataset(real_prepared, "edgeconnect", train=True)
    for key in [(0, i) for i in range(len(ds))]:
        s = ds[key]
        assert set(s) == {"target", "image", "mask", "edges", "guide"}
        assert s["target"].shape == s["image"].shape == (3, SIZE, SIZE)
        assert s["mask"].shape == s["edges"].shape == s["guide"].shape == (1, SIZE, SIZE)
        assert (s["guide"] == -1).all(), "no user edges in the data (the trainer gives some)"
        assert all(v.dtype == torch.float32 for v in s.values())
        assert s["target"].min() >= -1 and s["target"].max() <= 1
        assert set(s["mask"].unique().tolist()) <= {0.0, 1.0} and s["mask"].sum() > 0
        hole = s["mask"].bool().expand(3, -1, -1)
        assert torch.all(s["image"][hole] == 0)  # edgeconnect fills holes with zero
        # the censor lies inside the hole: outside it the image is the target, up to JPEG on some samples
        assert (s["image"][~hole] - s["target"][~hole]).abs().mean() < 0.08  # JPEG q60-95 on a 128 px crop
        # edges are Canny of the (possibly flipped) target
        target_u8 = from_range(s["target"], (-1.0, 1.0))
        assert torch.equal(s["edges"][0], torch.from_numpy(canny_edges(target_u8)))


def test_dataset_hole_fill_keep_keeps_censor_pixels(real_prepared):
    ds = _dataset(real_prepared, "glcic", train=False, hole_fill="keep", kinds={"pixelate": 1.0})
    s = ds[0]
    hole = s["mask"].bool().expand(3, -1, -1)
    assert s["image"][hole].abs().sum() > 0  # the pixelated band is still there
    assert not torch.equal(s["image"], s["target"])


@pytest.mark.parametrize("kind", ["blur", "blur-mouth"])
def test_dataset_draws_blurs_and_keeps_the_blurred_pixels(real_prepared, kind):
    """Training draws blur censors (issue 31): the model is shown the blurred pixels in the hole (``keep``), which
    differ from the clean target there and equal it outside the censor (before JPEG, which half the training
    samples get, so validation's fixed samples are drawn without it)."""
    ds = _dataset(real_prepared, "glcic", train=False, hole_fill="keep", kinds={kind: 1.0})
    s = ds[0]
    hole = s["mask"].bool().expand(3, -1, -1)
    assert hole.any() and not torch.equal(s["image"][hole], s["target"][hole])
    diff = (s["image"][hole] - s["target"][hole]).abs().mean()
    assert diff < 0.5, "blurred, not blanked"


def test_dataset_randomness_is_a_function_of_seed_epoch_index(real_prepared):
    ds = _dataset(real_prepared, "glcic", train=True, seed=3)
    a, b = ds[(2, 5)], ds[(2, 5)]
    assert all(torch.equal(a[k], b[k]) for k in a)
    masks = [ds[(e, 5)]["mask"] for e in range(6)]
    assert any(not torch.equal(masks[0], m) for m in masks[1:])
    # validation: fixed masks per index, whatever the training seed
    v1, v2 = _dataset(real_prepared, "glcic", False, seed=1)[4], _dataset(real_prepared, "glcic", False, seed=9)[4]
    assert all(torch.equal(v1[k], v2[k]) for k in v1)


def test_epoch_sampler_shards_and_skips():
    from unmask.train.data.dataset import EpochSampler

    data = list(range(10))
    r0, r1 = EpochSampler(data, 2, 0, seed=1), EpochSampler(data, 2, 1, seed=1)
    for s in (r0, r1):
        s.set_epoch(3)
    k0, k1 = list(r0), list(r1)
    assert all(e == 3 for e, _ in k0 + k1)
    i0, i1 = [i for _, i in k0], [i for _, i in k1]
    assert not set(i0) & set(i1) and len(i0) == len(i1) == 5
    r0.set_epoch(3, skip=2)
    assert [i for _, i in r0] == i0[2:] and len(r0) == 3
    r0.set_epoch(4)
    assert [i for _, i in r0] != i0
