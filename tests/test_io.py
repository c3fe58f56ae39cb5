"""unmask.infer.io: every corpus case loads or fails with the right reason; writes are atomic and tagged."""

from __future__ import annotations

import hashlib
import os
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageFile

from corpus import (
    BOMB_SIZE,
    CONTROL_NAME,
    ERRORS,
    GIF_COLOURS,
    ORIENT,
    gray16_values,
    make_corpus,
    orientation_base,
    rgb16_values,
    srgb_icc,
)
from unmask.infer import io as uio
from unmask.infer.io import atomic as io_atomic
from unmask.infer.io import read as io_read
from unmask.infer.io import DEFAULT_MAX_PIXELS, ImageError, Loaded, Provenance, read_image, read_provenance, write_image

TAG = Provenance(regions=["eyes"], model="unet-small", model_version="3", tool_version="0.1.0", faces=2)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def _readable_by_us(path: Path) -> bool:
    try:
        path.open("rb").close()
        return True
    except PermissionError:
        return False


OK_NAMES = [
    "tiny1.png", "tiny10.png", "gray16.png", "rgb16.png", "cmyk.jpg", "cmyk_bad_icc.jpg", "gray.jpg", "rgba.png",
    "la.png", "palette.png", "palette_transparent.png", "animated.gif", "animated.webp", "png_named.jpg",
    "icc_srgb.jpg", "bad_exif.jpg", "photo.bmp", "photo.tif", "multipage.tif", "earlier_output.png", "noface.png",
    "faces_picture.png", "face.jpg", *(f"exif_rotated_{k}.jpg" for k in ORIENT), *([CONTROL_NAME] if os.name != "nt" else []),
]  # fmt: skip


def test_corpus_covers_every_case(corpus: dict[str, Path]) -> None:
    assert set(corpus) == set(OK_NAMES) | set(ERRORS) - ({"fifo.jpg"} if not hasattr(os, "mkfifo") else set())


# ------------------------------------------------------------------------------------------------------ broken


@pytest.mark.parametrize("name", sorted(set(ERRORS) - {"unreadable.jpg"}))
def test_broken_case_gives_its_reason(corpus: dict[str, Path], name: str) -> None:
    if name not in corpus:
        pytest.skip(f"{name} cannot be made on this platform")
    with pytest.raises(ImageError) as err:
        read_image(corpus[name])
    assert err.value.kind == ERRORS[name]
    message = str(err.value)
    assert message and "\n" not in message and str(corpus[name]) not in message


def test_unreadable_file(corpus: dict[str, Path]) -> None:
    path = corpus["unreadable.jpg"]
    if _readable_by_us(path):
        pytest.skip("running with privileges (root) that read a mode-000 file anyway")
    with pytest.raises(ImageError) as err:
        read_image(path)
    assert err.value.kind == "permission" and "permission" in str(err.value)


def test_permission_denied_is_reported(corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The same path as ``unreadable.jpg`` without needing a non-root user."""

    def denied(*args: object, **kw: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(io_read, "open", denied, raising=False)
    with pytest.raises(ImageError) as err:
        read_image(corpus["face.jpg"])
    assert err.value.kind == "permission" and "permission denied" in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as err:
        read_image(tmp_path / "nope.jpg")
    assert err.value.kind == "missing"


def test_truncated_is_refused_even_if_pil_is_told_to_allow_it(
    corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageError) as err:
        read_image(corpus["truncated.jpg"])
    assert err.value.kind == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored


def test_bomb_refused_before_decoding(corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("decoded a decompression bomb")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ImageError) as err:
        read_image(corpus["bomb.png"])
    assert err.value.kind == "too_large"
    assert f"{BOMB_SIZE[0]}x{BOMB_SIZE[1]}" in str(err.value) and "--max-pixels" in str(err.value)


def test_max_pixels_is_the_limit_and_overrides_pil(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "100x100.png"
    Image.new("RGB", (100, 100), (1, 2, 3)).save(path)
    with pytest.raises(ImageError, match="too large") as err:
        read_image(path, max_pixels=9_999)
    # a small limit is said exactly, not as "0.0 megapixels" (issue 26)
    assert "100x100 = 10,000 pixels exceeds the limit of 9,999 pixels" in str(err.value)
    assert read_image(path, max_pixels=10_000).size == (100, 100)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # PIL alone would refuse 10,000 pixels (> 2 x 1,000)
    assert read_image(path, max_pixels=20_000).size == (100, 100)
    assert Image.MAX_IMAGE_PIXELS == 1_000  # restored
    with pytest.raises(ValueError):
        read_image(path, max_pixels=0)


def test_a_24_megapixel_photo_loads_by_default(tmp_path: Path) -> None:
    assert 24_000_000 < DEFAULT_MAX_PIXELS <= 200_000_000
    path = tmp_path / "24mp.png"
    Image.new("L", (6000, 4000), 77).save(path, compress_level=1)
    loaded = read_image(path)
    assert loaded.size == (6000, 4000) and loaded.rgb.shape == (4000, 6000, 3) and loaded.rgb[123, 4567, 1] == 77


# ------------------------------------------------------------------------------------------------------- valid


@pytest.mark.parametrize("name", OK_NAMES)
def test_valid_case_loads_as_8bit_rgb(corpus: dict[str, Path], name: str) -> None:
    loaded = read_image(corpus[name])
    h, w = loaded.rgb.shape[:2]
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == (h, w, 3) and loaded.rgb.flags.c_contiguous
    assert loaded.size == (w, h)
    assert loaded.alpha is None or (loaded.alpha.dtype == np.uint8 and loaded.alpha.shape == (h, w))
    assert loaded.frames >= 1 and loaded.path == corpus[name]


def test_tiny_images_load(corpus: dict[str, Path]) -> None:
    assert read_image(corpus["tiny1.png"]).rgb.tolist() == [[[128, 128, 128]]]
    assert read_image(corpus["tiny10.png"]).size == (10, 10)


def test_16bit_gray_is_scaled_not_clipped(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["gray16.png"])
    assert loaded.mode.startswith("I;16")
    expected = (gray16_values() >> 8).astype(np.uint8)
    assert np.array_equal(loaded.rgb[:, :, 0], expected)
    assert np.array_equal(loaded.rgb[:, :, 0], loaded.rgb[:, :, 2])
    assert len(np.unique(loaded.rgb)) > 200  # clipping would leave mostly 255


def test_16bit_rgb_keeps_the_high_byte(corpus: dict[str, Path]) -> None:
    assert np.array_equal(read_image(corpus["rgb16.png"]).rgb, (rgb16_values() >> 8).astype(np.uint8))


@pytest.mark.parametrize("name", ["cmyk.jpg", "cmyk_bad_icc.jpg"])
def test_cmyk_becomes_rgb(corpus: dict[str, Path], name: str) -> None:
    loaded = read_image(corpus[name])
    assert loaded.mode == "CMYK" and loaded.icc is None  # a CMYK profile does not describe RGB pixels
    assert np.abs(loaded.rgb.astype(int) - [255, 0, 0]).max() <= 3


def test_gray_jpeg(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["gray.jpg"])
    assert loaded.mode == "L" and loaded.alpha is None
    assert np.array_equal(loaded.rgb[:, :, 0], loaded.rgb[:, :, 1])
    assert np.abs(loaded.rgb[10, :, 0].astype(int) - np.arange(0, 256, 4)).max() <= 3


def test_alpha_kept(corpus: dict[str, Path]) -> None:
    rgba = read_image(corpus["rgba.png"])
    expected = np.tile(np.arange(0, 256, 8, dtype=np.uint8)[:, None], (1, 40))
    assert rgba.mode == "RGBA" and np.array_equal(rgba.alpha, expected)
    la = read_image(corpus["la.png"])
    assert la.mode == "LA" and (la.alpha == 60).all() and (la.rgb == 90).all()


def test_palette_with_and_without_transparency(corpus: dict[str, Path]) -> None:
    plain = read_image(corpus["palette.png"])
    assert plain.mode == "P" and plain.alpha is None
    clear = read_image(corpus["palette_transparent.png"])
    index = np.asarray(Image.open(corpus["palette_transparent.png"]))
    assert np.array_equal(clear.rgb, plain.rgb)
    assert (
        np.array_equal(clear.alpha == 0, index == 0) and (index == 0).any() and (clear.alpha[index != 0] == 255).all()
    )


@pytest.mark.parametrize("name", ["animated.gif", "animated.webp"])
def test_animation_first_frame_and_count(corpus: dict[str, Path], name: str) -> None:
    loaded = read_image(corpus[name])
    assert loaded.frames == len(GIF_COLOURS)
    assert np.abs(loaded.rgb.astype(int) - GIF_COLOURS[0]).max() <= 2


def test_multipage_tiff_reads_the_first_page(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["multipage.tif"])
    assert loaded.frames == 2 and loaded.size == (24, 20)
    with Image.open(corpus["multipage.tif"]) as im:
        assert np.array_equal(loaded.rgb, np.asarray(im.convert("RGB")))


def test_read_image_reports_the_provenance_tag(corpus: dict[str, Path], tmp_path: Path) -> None:
    """An output of an earlier run is recognised from the decoded file itself (issue 12, item 17)."""
    assert read_image(corpus["earlier_output.png"]).provenance["model"] == "tiny_eyes"
    assert read_image(corpus["face.jpg"]).provenance is None
    loaded = read_image(corpus["face.jpg"])
    for ext in (".png", ".jpg", ".webp", ".tif", ".gif"):
        write_image(tmp_path / f"o{ext}", loaded.rgb, like=loaded, tag=TAG)
        assert read_image(tmp_path / f"o{ext}").provenance == TAG.to_dict(), ext


def test_corrupt_exif_is_dropped_quietly(corpus: dict[str, Path]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = read_image(corpus["bad_exif.jpg"])
    assert loaded.size == (16, 16) and loaded.exif is None


def test_content_decides_format_not_name(corpus: dict[str, Path]) -> None:
    assert read_image(corpus["png_named.jpg"]).format == "PNG"
    assert read_image(corpus["photo.bmp"]).format == "BMP"
    assert read_image(corpus["photo.tif"]).format == "TIFF"


def test_rgb_icc_profile_kept(corpus: dict[str, Path]) -> None:
    assert read_image(corpus["icc_srgb.jpg"]).icc == srgb_icc()


@pytest.mark.parametrize("k", sorted(ORIENT))
def test_exif_orientation_applied(corpus: dict[str, Path], k: int) -> None:
    loaded = read_image(corpus[f"exif_rotated_{k}.jpg"])
    expected = ORIENT[k](orientation_base())
    assert loaded.rgb.shape == expected.shape
    assert np.abs(loaded.rgb.astype(int) - expected).max() <= 4
    exif = Image.Exif()
    exif.load(loaded.exif)
    assert exif[ExifTags.Base.Orientation] == 1


def test_orientation_6_landscape_becomes_portrait_with_top_left_at_top_right(corpus: dict[str, Path]) -> None:
    loaded = read_image(corpus["exif_rotated_6.jpg"])
    assert loaded.size == (32, 48)  # stored 48x32 landscape
    stored_top_left = orientation_base()[0, 0].astype(int)
    assert np.abs(loaded.rgb[0, -1].astype(int) - stored_top_left).max() <= 4
    assert np.abs(loaded.rgb[0, 0].astype(int) - stored_top_left).max() > 100


def test_reading_never_modifies_inputs(corpus: dict[str, Path], tmp_path: Path) -> None:
    files = [p for p in corpus.values() if p.is_file() and _readable_by_us(p)]
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in files}
    for p in files:
        try:
            loaded = read_image(p)
        except ImageError:
            continue
        write_image(tmp_path / (p.stem + ".png"), loaded.rgb, like=loaded, tag=TAG)
    after = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in files}
    assert after == before


# ------------------------------------------------------------------------------------------------------ writing


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif", ".gif"])
def test_provenance_round_trip(corpus: dict[str, Path], tmp_path: Path, ext: str) -> None:
    loaded = read_image(corpus["face.jpg"])
    out = tmp_path / f"face{ext}"
    write_image(out, loaded.rgb, like=loaded, tag=TAG)
    assert read_provenance(out) == TAG.to_dict()
    assert read_provenance(corpus["face.jpg"]) is None


@pytest.mark.parametrize("ext", [".jpg", ".webp", ".png"])
def test_every_carrier_holds_the_tag(corpus: dict[str, Path], tmp_path: Path, ext: str) -> None:
    loaded = read_image(corpus["face.jpg"])
    out = tmp_path / f"face{ext}"
    write_image(out, loaded.rgb, like=loaded, tag=TAG)
    with Image.open(out) as im:
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp").encode()
        assert b"compositeWithTrainedAlgorithmicMedia" in xmp and b"unmask:provenance=" in xmp
        exif = im.getexif()
        assert uio.parse_provenance(exif[ExifTags.Base.ImageDescription]) == TAG.to_dict()
        comment = exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.UserComment]
        assert uio.parse_provenance(comment[8:]) == TAG.to_dict()
        if ext == ".png":
            assert uio.parse_provenance(im.info["unmask"]) == TAG.to_dict()


def test_tag_text_is_one_ascii_sentence_then_json() -> None:
    tag = Provenance(regions=["eyes", "mouth"], model="gén {odd}", model_version="1", tool_version="0.1.0", faces=1)
    text = tag.to_text()
    assert text.startswith("Synthetic:") and text.isascii() and "\n" not in text
    assert uio.parse_provenance(text) == tag.to_dict()
    assert uio.parse_provenance(text.encode() + b"\x00\x00") == tag.to_dict()
    assert uio.parse_provenance("A holiday photo {}") is None and uio.parse_provenance(None) is None


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp"])
def test_icc_kept(corpus: dict[str, Path], tmp_path: Path, ext: str) -> None:
    loaded = read_image(corpus["icc_srgb.jpg"])
    write_image(tmp_path / f"x{ext}", loaded.rgb, like=loaded, tag=TAG)
    assert read_image(tmp_path / f"x{ext}").icc == srgb_icc()


def test_alpha_kept_for_png_and_dropped_for_jpeg(corpus: dict[str, Path], tmp_path: Path) -> None:
    loaded = read_image(corpus["rgba.png"])
    write_image(tmp_path / "a.png", loaded.rgb, like=loaded, tag=TAG)
    back = read_image(tmp_path / "a.png")
    assert np.array_equal(back.alpha, loaded.alpha) and np.array_equal(back.rgb, loaded.rgb)
    write_image(tmp_path / "a.webp", loaded.rgb, like=loaded, tag=TAG)
    assert np.array_equal(read_image(tmp_path / "a.webp").alpha, loaded.alpha)
    write_image(tmp_path / "a.jpg", loaded.rgb, like=loaded, tag=TAG)
    assert read_image(tmp_path / "a.jpg").alpha is None
    explicit = np.full(loaded.rgb.shape[:2], 7, np.uint8)
    write_image(tmp_path / "b.png", loaded.rgb, tag=TAG, alpha=explicit)
    assert (read_image(tmp_path / "b.png").alpha == 7).all()


def test_output_is_upright_with_orientation_1(corpus: dict[str, Path], tmp_path: Path) -> None:
    loaded = read_image(corpus["exif_rotated_6.jpg"])
    write_image(tmp_path / "r.jpg", loaded.rgb, like=loaded, tag=TAG)
    with Image.open(tmp_path / "r.jpg") as im:
        assert im.size == (32, 48) and im.getexif()[ExifTags.Base.Orientation] == 1
    assert np.abs(read_image(tmp_path / "r.jpg").rgb.astype(int) - loaded.rgb).max() <= 4


def exif_photo(path: Path, orientation: int | None = None) -> Loaded:
    """A 20x10 JPEG at ``path`` whose EXIF names a camera maker and a date (and ``orientation``), as read back."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Camera Co"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2020:01:02 03:04:05"
    Image.new("RGB", (20, 10), (9, 9, 9)).save(path, exif=exif)
    return read_image(path)


def test_input_exif_kept_and_odd_exif_does_not_cost_the_tag(tmp_path: Path) -> None:
    loaded = exif_photo(tmp_path / "in.jpg", orientation=8)
    write_image(tmp_path / "out.jpg", loaded.rgb, like=loaded, tag=TAG)
    with Image.open(tmp_path / "out.jpg") as im:
        out = im.getexif()
        assert out[ExifTags.Base.Make] == "Camera Co" and out[ExifTags.Base.Orientation] == 1
        assert out.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] == "2020:01:02 03:04:05"
    odd = Loaded(loaded.rgb, None, "JPEG", b"Exif\x00\x00MM\x00*garbage", None, "RGB", 1, loaded.size)
    write_image(tmp_path / "odd.jpg", loaded.rgb, like=odd, tag=TAG)
    assert read_provenance(tmp_path / "odd.jpg") == TAG.to_dict()


def test_format_follows_extension_or_argument(corpus: dict[str, Path], tmp_path: Path) -> None:
    loaded = read_image(corpus["face.jpg"])
    write_image(tmp_path / "a.png", loaded.rgb, like=loaded, tag=TAG)
    write_image(tmp_path / "b.out", loaded.rgb, like=loaded, tag=TAG)  # no image extension: the input's format
    write_image(tmp_path / "c.img", loaded.rgb, like=loaded, tag=TAG, format="webp")
    assert [read_image(tmp_path / n).format for n in ("a.png", "b.out", "c.img")] == ["PNG", "JPEG", "WEBP"]
    with pytest.raises(ImageError) as err:
        write_image(tmp_path / "d.bmp", loaded.rgb, like=loaded, tag=TAG)
    assert err.value.kind == "unsupported" and not (tmp_path / "d.bmp").exists()


def test_output_suffix() -> None:
    assert uio.output_suffix(".JPG") == ".JPG"
    assert uio.output_suffix(".bmp") == ".png"  # BMP cannot carry the tag
    assert uio.output_suffix(".jpg", "PNG") == ".png" and uio.output_suffix(".png", ".jpeg") == ".jpg"
    for bad in ("bmp", "xyz"):
        with pytest.raises(ValueError):
            uio.output_suffix(".jpg", bad)


def test_write_creates_folders_and_normal_permissions(corpus: dict[str, Path], tmp_path: Path) -> None:
    loaded = read_image(corpus["tiny10.png"])
    out = tmp_path / "x" / "y" / "z.png"
    write_image(out, loaded.rgb, like=loaded, tag=TAG)
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    assert os.listdir(out.parent) == ["z.png"]


def test_failed_write_leaves_nothing(corpus: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = read_image(corpus["face.jpg"])
    out = tmp_path / "face.jpg"
    out.write_bytes(b"previous result")
    real_save = Image.Image.save

    def failing_save(self: Image.Image, fp: object, *args: object, **kw: object) -> None:
        real_save(self, fp, *args, **kw)  # a complete encode has reached the temporary file...
        fp.write(b"more")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")  # ...then the disk fills up

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(ImageError) as err:
        write_image(out, loaded.rgb, like=loaded, tag=TAG)
    assert err.value.kind == "write" and "No space left" in str(err.value)
    assert os.listdir(tmp_path) == ["face.jpg"] and out.read_bytes() == b"previous result"

    def interrupted(self: Image.Image, fp: object, *args: object, **kw: object) -> None:
        fp.write(b"half")  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_image(tmp_path / "new.png", loaded.rgb, like=loaded, tag=TAG)
    assert os.listdir(tmp_path) == ["face.jpg"]


def test_unwritable_destination(corpus: dict[str, Path], tmp_path: Path) -> None:
    loaded = read_image(corpus["tiny10.png"])
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    with pytest.raises(ImageError) as err:
        write_image(blocker / "sub" / "out.png", loaded.rgb, like=loaded, tag=TAG)
    assert err.value.kind == "write" and "\n" not in str(err.value)
    with pytest.raises(ImageError):
        write_image(tmp_path, loaded.rgb, like=loaded, tag=TAG, format="png")  # a folder
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running with privileges (root) that write into a mode-555 folder anyway")
        with pytest.raises(ImageError) as err:
            write_image(locked / "out.png", loaded.rgb, like=loaded, tag=TAG)
        assert err.value.kind == "write" and os.listdir(locked) == []
    finally:
        locked.chmod(0o755)


def test_unwritable_folder_simulated(corpus: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a read-only folder gives a normal user (root writes anyway), by making the temporary file fail."""

    def denied(*args: object, **kw: object) -> None:
        raise PermissionError(13, "Permission denied")

    loaded = read_image(corpus["tiny10.png"])
    monkeypatch.setattr(io_atomic.tempfile, "mkstemp", denied)
    with pytest.raises(ImageError) as err:
        write_image(tmp_path / "out.png", loaded.rgb, like=loaded, tag=TAG)
    assert err.value.kind == "write" and "Permission denied" in str(err.value) and os.listdir(tmp_path) == []


def test_never_overwrites_the_input(corpus: dict[str, Path], tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(corpus["tiny10.png"].read_bytes())
    loaded = read_image(src)
    with pytest.raises(ImageError, match="input"):
        write_image(src, loaded.rgb, like=loaded, tag=TAG)
    os.link(src, tmp_path / "hardlink.png")
    with pytest.raises(ImageError, match="input"):
        write_image(tmp_path / "hardlink.png", loaded.rgb, like=loaded, tag=TAG)
    assert src.read_bytes() == corpus["tiny10.png"].read_bytes()


def test_bad_arrays_are_programming_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.float32), tag=TAG)
    with pytest.raises(ValueError):
        write_image(tmp_path / "a.png", np.zeros((4, 4), np.uint8), tag=TAG)
    with pytest.raises(ValueError):
        write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8), tag=TAG, alpha=np.zeros((3, 4), np.uint8))
    assert not list(tmp_path.iterdir())


def test_loaded_is_a_plain_record() -> None:
    rgb = np.zeros((2, 3, 3), np.uint8)
    loaded = Loaded(rgb=rgb, alpha=None, format="PNG", exif=None, icc=None, mode="RGB", frames=1, size=(3, 2))
    assert loaded.path is None


# ------------------------------------------------------------------------------ issue 12: short writes, EXIF, temps


@pytest.mark.parametrize("how", ["partial then full disk", "size differs on disk"])
def test_a_short_write_is_an_error_never_a_truncated_file(corpus: dict[str, Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, how: str) -> None:  # fmt: skip
    """A full disk that takes part of the bytes must fail the write (issue 12, item 1: JPEG used to be left
    truncated and reported restored); the previous output and the folder stay as they were."""
    loaded = read_image(corpus["face.jpg"])
    out = tmp_path / "face.jpg"
    out.write_bytes(b"previous result")
    real_write, real_fstat = os.write, os.fstat
    if how == "partial then full disk":
        calls = []

        def write(fd: int, data: bytes) -> int:
            calls.append(len(data))
            if len(calls) == 1:
                return real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(io_atomic.os, "write", write)
    else:

        def fstat(fd: int) -> os.stat_result:
            st = real_fstat(fd)
            return os.stat_result((*st[:6], st.st_size // 2, *st[7:]))

        monkeypatch.setattr(io_atomic.os, "fstat", fstat)
    with pytest.raises(ImageError) as err:
        write_image(out, loaded.rgb, like=loaded, tag=TAG)
    assert err.value.kind == "write" and "\n" not in str(err.value)
    assert os.listdir(tmp_path) == ["face.jpg"] and out.read_bytes() == b"previous result"


def test_write_atomic_writes_everything_or_nothing(tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000
    uio.write_atomic(tmp_path / "x.bin", data)
    assert (tmp_path / "x.bin").read_bytes() == data and os.listdir(tmp_path) == ["x.bin"]
    with pytest.raises(OSError):
        uio.write_atomic(tmp_path / "missing" / "x.bin", data)
    assert os.listdir(tmp_path) == ["x.bin"]


def test_tiff_output_keeps_the_exif(tmp_path: Path) -> None:
    """The README promises EXIF is kept on write: TIFF used to drop it (issue 12, item 14)."""
    loaded = exif_photo(tmp_path / "in.jpg")
    write_image(tmp_path / "out.tif", loaded.rgb, like=loaded, tag=TAG)
    with Image.open(tmp_path / "out.tif") as im:
        out = im.getexif()
        assert out[ExifTags.Base.Make] == "Camera Co"
        assert out.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] == "2020:01:02 03:04:05"
    assert read_provenance(tmp_path / "out.tif") == TAG.to_dict()
    assert np.array_equal(read_image(tmp_path / "out.tif").rgb, loaded.rgb)
    plain = Loaded(loaded.rgb, None, "JPEG", None, None, "RGB", 1, loaded.size)  # no EXIF: LZW as before
    write_image(tmp_path / "plain.tif", loaded.rgb, like=plain, tag=TAG)
    with Image.open(tmp_path / "plain.tif") as im:
        assert im.info.get("compression") == "tiff_lzw"
    assert read_provenance(tmp_path / "plain.tif") == TAG.to_dict()


def test_temporary_files_carry_the_writing_process(corpus: dict[str, Path], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    seen = []
    real = io_atomic.tempfile.mkstemp

    def spy(*args: object, **kw: object):
        fd, name = real(*args, **kw)
        seen.append(Path(name).name)
        return fd, name

    monkeypatch.setattr(io_atomic.tempfile, "mkstemp", spy)
    loaded = read_image(corpus["tiny10.png"])
    write_image(tmp_path / "a.png", loaded.rgb, like=loaded, tag=TAG)
    (name,) = seen
    assert name.startswith(f".a.png.{os.getpid()}.") and name.endswith(".tmp")


def test_stale_temporary_files_of_dead_runs_only_are_removed(tmp_path: Path) -> None:
    """Issue 12, item 5: a second run used to delete a live run's temporary file as left by an interrupted run."""
    import subprocess
    import sys

    live = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        names = {
            "live": f".a.png.{live.pid}.abcd1234.tmp",  # a run that is still writing
            "mine": f".a.png.{os.getpid()}.abcd1234.tmp",  # this process's own
            "dead": f".a.png.{dead.pid}.abcd1234.tmp",  # a killed run's
            "old": ".a.png.k1ll3d_x.tmp",  # the form without a process id
            "other": f".b.png.{dead.pid}.abcd1234.tmp",  # not next to one of the outputs
        }
        for n in names.values():
            (tmp_path / n).write_bytes(b"half")
        removed = uio.remove_stale_temps([tmp_path / "a.png"])
        assert sorted(p.name for p in removed) == sorted([names["dead"], names["old"]])
        assert sorted(os.listdir(tmp_path)) == sorted([names["live"], names["mine"], names["other"]])
    finally:
        live.communicate(b"")
