"""A generated corpus of awkward and broken input photos (nothing binary is committed).

``make_corpus(folder)`` writes every case into ``folder`` and returns ``{name: path}``. :data:`ERRORS` says which
:class:`unmask.infer.io.ImageError` kind each broken case must give; every other case must load. ``fifo.jpg`` exists only
where ``os.mkfifo`` does; ``unreadable.jpg`` is mode 000, which does not stop root from reading it (check
``os.access``). :data:`SKIPPED` cases load but are outputs of an earlier run; :data:`CONTROL_NAME` has control
characters in its name. The CLI tests reuse this module.
"""

from __future__ import annotations

import functools
import os
import shutil
import struct
import zlib
from io import BytesIO
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageCms, PngImagePlugin

from unmask.infer.io import Provenance
from unmask.infer.io.provenance import drawn_tag

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CELEBA_VAL = SHARED / "data" / "celeba" / "val"

ERRORS: dict[str, str] = {
    "empty.jpg": "empty",
    "truncated.jpg": "truncated",
    "truncated.png": "truncated",
    "text.jpg": "not_image",
    "folder.png": "directory",
    "bomb.png": "too_large",
    "corrupt.png": "corrupt",
    "fifo.jpg": "not_file",
    "unreadable.jpg": "permission",
}
"""Broken cases and the ``ImageError.kind`` each must raise."""

SKIPPED: dict[str, str] = {
    "earlier_output.png": "already an output of unmask",
    "faces_picture.png": "faces picture drawn by --show-faces",
}  # issue 26, item 7
"""Valid cases that ``unmask`` must skip (not restore, not fail), with words of the reason."""

CONTROL_NAME = "ctrl\x1b[31m\nname.png"
"""A valid case whose name holds an ANSI escape and a newline (not made on Windows): printed escaped, on one line."""

BOMB_SIZE = (60000, 60000)
"""Declared size of ``bomb.png`` (3.6 gigapixels; the file is under 100 bytes)."""

GIF_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
"""Colours of the frames of the animated cases, in order."""

ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, k=-1),
    7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
    8: lambda a: np.rot90(a, k=1),
}
"""What a viewer shows for stored pixels ``a`` tagged with each EXIF orientation."""


def orientation_base() -> np.ndarray:
    """The stored (landscape, 48x32) pixels of ``exif_rotated_*.jpg``: six flat 16x16 blocks of distinct colours, so
    JPEG (4:4:4) keeps them and every flip/rotation is distinguishable."""
    colours = np.array(
        [[(230, 30, 30), (30, 230, 30), (30, 30, 230)], [(230, 230, 30), (30, 230, 230), (230, 30, 230)]],
        dtype=np.uint8,
    )
    return np.repeat(np.repeat(colours, 16, axis=0), 16, axis=1)


def gray16_values() -> np.ndarray:
    """The 16-bit ramp stored in ``gray16.png`` (16x16, 0..65535)."""
    return np.linspace(0, 65535, 256).round().astype(np.uint16).reshape(16, 16)


def rgb16_values() -> np.ndarray:
    """The 16-bit RGB samples stored in ``rgb16.png`` (8x8x3)."""
    rng = np.random.default_rng(16)
    return rng.integers(0, 65536, (8, 8, 3), dtype=np.uint16)


@functools.lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    """The sRGB ICC profile written into ``icc_srgb.jpg`` (made once per process: it holds its creation time)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, depth: int, colour: int, raw: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", raw) + _chunk(b"IEND", b"")


def _encode(arr: np.ndarray | Image.Image, fmt: str, **kw: object) -> bytes:
    im = arr if isinstance(arr, Image.Image) else Image.fromarray(arr)
    buf = BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _noise(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _face(dest: Path) -> None:
    photos = sorted(CELEBA_VAL.glob("*.jpg")) if CELEBA_VAL.is_dir() else []
    if photos:
        shutil.copyfile(photos[0], dest)
        return
    from skimage import data

    dest.write_bytes(_encode(data.astronaut(), "JPEG", quality=92))


def make_corpus(folder: Path) -> dict[str, Path]:
    """Write every case into ``folder`` (created if needed) and return ``{file name: path}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}

    # broken
    files["empty.jpg"] = b""
    jpeg = _encode(_noise(128, 128, 1), "JPEG", quality=90)
    files["truncated.jpg"] = jpeg[: len(jpeg) * 6 // 10]
    png = _encode(_noise(128, 128, 2), "PNG")
    files["truncated.png"] = png[: len(png) * 6 // 10]
    files["text.jpg"] = b"This is a text file, not a photo.\n"
    files["bomb.png"] = _png(*BOMB_SIZE, 8, 2, zlib.compress(b"\x00" * 64))
    files["corrupt.png"] = _png(64, 64, 8, 2, b"\x78\x9c" + bytes(range(256)) * 4)

    # awkward but valid
    files["tiny1.png"] = _encode(np.full((1, 1, 3), 128, np.uint8), "PNG")
    files["tiny10.png"] = _encode(_noise(10, 10, 3), "PNG")
    files["gray16.png"] = _encode(gray16_values(), "PNG")
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rgb16_values())
    files["rgb16.png"] = _png(8, 8, 16, 2, zlib.compress(rows))
    files["cmyk.jpg"] = _encode(Image.new("CMYK", (32, 24), (0, 255, 255, 0)), "JPEG", quality=95)
    fake_cmyk_icc = bytearray(256)
    fake_cmyk_icc[16:20] = b"CMYK"
    files["cmyk_bad_icc.jpg"] = _encode(
        Image.new("CMYK", (32, 24), (0, 255, 255, 0)), "JPEG", quality=95, icc_profile=bytes(fake_cmyk_icc)
    )
    files["gray.jpg"] = _encode(np.tile(np.arange(0, 256, 4, dtype=np.uint8), (48, 1)), "JPEG", quality=95)
    rgba = np.dstack([_noise(32, 40, 4), np.tile(np.arange(0, 256, 8, dtype=np.uint8)[:, None], (1, 40))])
    files["rgba.png"] = _encode(rgba, "PNG")
    la = Image.fromarray(np.dstack([np.full((20, 30), 90, np.uint8), np.full((20, 30), 60, np.uint8)]), "LA")
    files["la.png"] = _encode(la, "PNG")
    pal = Image.fromarray(_noise(24, 24, 5)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    files["palette.png"] = _encode(pal, "PNG")
    files["palette_transparent.png"] = _encode(pal, "PNG", transparency=0)
    frames = [Image.new("RGB", (32, 32), c) for c in GIF_COLOURS]
    files["animated.gif"] = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    files["animated.webp"] = _encode(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True
    )
    base = orientation_base()
    for k in ORIENT:
        exif = Image.Exif()
        exif[0x0112] = k
        files[f"exif_rotated_{k}.jpg"] = _encode(base, "JPEG", quality=95, subsampling=0, exif=exif.tobytes())
    files["bad_exif.jpg"] = _encode(
        _noise(16, 16, 11), "JPEG", quality=95, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff"
    )
    files["png_named.jpg"] = _encode(_noise(16, 16, 6), "PNG")
    files["icc_srgb.jpg"] = _encode(_noise(16, 16, 7), "JPEG", quality=95, icc_profile=srgb_icc())
    files["photo.bmp"] = _encode(_noise(20, 24, 8), "BMP")
    files["photo.tif"] = _encode(_noise(20, 24, 9), "TIFF")
    pages = [Image.fromarray(_noise(20, 24, 12)), Image.fromarray(_noise(20, 24, 13))]
    files["multipage.tif"] = _encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    tagged = PngImagePlugin.PngInfo()  # what an earlier run wrote: unmask's provenance tag
    tag = Provenance(regions=["eyes"], model="tiny_eyes", model_version="test", tool_version="0.0", faces=1)
    tagged.add_text("unmask", tag.to_text())
    files["earlier_output.png"] = _encode(_noise(24, 24, 14), "PNG", pnginfo=tagged)
    drawn = PngImagePlugin.PngInfo()  # a --show-faces picture of an earlier run: boxes drawn over a photo
    drawn.add_text("unmask", drawn_tag("faces picture", "0.0", 1).to_text())
    files["faces_picture.png"] = _encode(_noise(24, 24, 16), "PNG", pnginfo=drawn)
    if os.name != "nt":
        files[CONTROL_NAME] = _encode(_noise(24, 24, 15), "PNG")
    yy, xx = np.mgrid[0:256, 0:256]
    flat = (120 + 20 * np.sin(xx / 17.0) * np.cos(yy / 23.0)).astype(np.uint8)
    files["noface.png"] = _encode(np.dstack([flat, flat, flat]) + _noise(256, 256, 10) % 8, "PNG")

    paths = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    _face(folder / "face.jpg")
    paths["face.jpg"] = folder / "face.jpg"
    (folder / "folder.png").mkdir(exist_ok=True)
    paths["folder.png"] = folder / "folder.png"
    if hasattr(os, "mkfifo"):
        fifo = folder / "fifo.jpg"
        if not fifo.exists():
            os.mkfifo(fifo)
        paths["fifo.jpg"] = fifo
    unreadable = folder / "unreadable.jpg"
    if unreadable.exists():  # a second make_corpus into the same folder
        unreadable.chmod(0o600)
    unreadable.write_bytes(jpeg)
    unreadable.chmod(0)
    paths["unreadable.jpg"] = unreadable
    return paths


# ------------------------------------------------------------------------------------------------- bad models

MODEL_ERRORS: dict[str, str] = {
    "size_mismatch": "but the metadata means N x 3 x 64 x 64",  # graph 16 px, metadata 64
    "size_100000": "metadata size 100000 is out of range",  # the graph's sizes are symbolic: only the metadata says
    "size_1e30": "metadata size 1e+30 is out of range",
    "image_channels": "input 'image' is ? x 4 x 16 x 16",
    "mask_channels": "input 'mask' is ? x 3 x 16 x 16",
    "output_channels": "output 'output' is ? x 1 x 16 x 16",
    "float16_input": "is tensor(float16), not tensor(float)",
    "unknown_input": "graph input 'noise' is not one unmask can feed",
}
"""Models whose unmask metadata the graph contradicts (issue 12, item 8), and words of the one-line refusal."""


def graph_model(path: Path, size: int | str = 16, meta_size: float | None = None, image_channels: int = 3,
                mask_channels: int = 1, out_channels: int = 3, image_type: str = "float", nan: bool = False,
                extra_input: str | None = None, region: str = "eyes") -> Path:  # fmt: skip
    """An ONNX generator (a 1x1 convolution mixing the image's channels) with unmask metadata, whose graph may
    disagree with it: ``size`` an int or a symbolic name, channel counts, the image's element type; ``nan``: the
    output is all NaN; ``extra_input``: one more graph input (named in the metadata too)."""
    import json

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from unmask.spec import META_KEY, ModelMeta

    side = size if isinstance(size, int) else "S"
    dims = lambda c: ["N", c, side, side]
    elem = {"float": TensorProto.FLOAT, "float16": TensorProto.FLOAT16}[image_type]
    inputs = [helper.make_tensor_value_info("image", elem, dims(image_channels)),
              helper.make_tensor_value_info("mask", TensorProto.FLOAT, dims(mask_channels))]  # fmt: skip
    inits = [numpy_helper.from_array(np.full((out_channels, image_channels, 1, 1), 1.0 / image_channels, np.float32), "k"),
             numpy_helper.from_array(np.zeros((1,), np.float32), "zero"),
             numpy_helper.from_array(np.array([np.nan if nan else 0.0], np.float32), "offset")]  # fmt: skip
    nodes = [helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT) if image_type != "float"
             else helper.make_node("Identity", ["image"], ["x"])]  # fmt: skip
    nodes += [
        helper.make_node("Conv", ["x", "k"], ["mixed"]),
        helper.make_node("Mul", ["mask", "zero"], ["m0"]),
        helper.make_node("ReduceSum", ["m0"], ["m1"], keepdims=1, noop_with_empty_axes=0),
        helper.make_node("Add", ["mixed", "m1"], ["m2"]),
        helper.make_node("Add", ["m2", "offset"], ["output"]),
    ]
    names = ["image", "mask"]
    if extra_input:
        inputs.append(helper.make_tensor_value_info(extra_input, TensorProto.FLOAT, dims(1)))
        names.append(extra_input)
    graph = helper.make_graph(nodes, "mix", inputs, [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                                                                     dims(out_channels))], inits)  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = ModelMeta(arch="test-mix", region=region, size=size if isinstance(size, int) else 16, value_range=(-1.0, 1.0),
                     mask_convention="1=hole", hole_fill="keep", inputs=tuple(names), name=path.stem, version="test")  # fmt: skip
    raw = json.loads(meta.to_json())
    if meta_size is not None:
        raw["size"] = meta_size
    helper.set_model_props(model, {META_KEY: json.dumps(raw)})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def make_bad_model(path: Path, case: str) -> Path:
    """The :data:`MODEL_ERRORS` case ``case`` written to ``path``."""
    kw: dict = {
        "size_mismatch": dict(meta_size=64),
        "size_100000": dict(size="S", meta_size=100000),
        "size_1e30": dict(size="S", meta_size=1e30),
        "image_channels": dict(image_channels=4),
        "mask_channels": dict(mask_channels=3),
        "output_channels": dict(out_channels=1),
        "float16_input": dict(image_type="float16"),
        "unknown_input": dict(extra_input="noise"),
    }[case]
    return graph_model(path, **kw)


# ------------------------------------------------------------------------------------------------- bad training sets

SET_ERRORS: dict[str, str] = {
    "manifest_damaged": "unreadable manifest",  # was taken for a folder of photos: "SET: no photos"
    "recipe_version": "crop recipe 99",  # was accepted silently
    "shard_listed_twice": "listed twice",  # gave twice the faces
    "photos_listed_twice": "listed twice",  # two entries for the same photos
    "format_version_garbage": "format_version 'one' is not a whole number",  # was a bare ValueError
    "shard_entry_garbage": "shard entry 0 is str",  # was a bare AttributeError
    "shard_faces_garbage": "faces is missing or garbled",  # was a bare ValueError
    "shard_corrupted": "checksum mismatch",  # named the shard, but `train` gave exit 1 where `eval` gave 2
}
"""Training sets (``unmask prepare``) damaged after they were written (issue 26, items 9 and 16), and words of the
one-line error naming their manifest (the shard, for ``shard_corrupted``) that every command reading them must give
(``unmask train --data``, ``unmask eval``: exit 2)."""


def make_bad_set(good: Path, out: Path, case: str) -> Path:
    """A copy of the complete set ``good`` (at least two shards) at ``out``, damaged as :data:`SET_ERRORS` ``case``."""
    import json

    shutil.copytree(good, out)
    path = out / "manifest.json"
    text = path.read_text(encoding="utf-8")
    m = json.loads(text)
    if case == "manifest_damaged":
        path.write_text(text[: len(text) // 2], encoding="utf-8")
        return out
    if case == "shard_corrupted":
        shard = out / m["shards"][1]["file"]
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 0xFF
        shard.write_bytes(bytes(data))
        return out
    if case == "recipe_version":
        m["recipe_version"] = 99
    elif case == "shard_listed_twice":
        m["shards"] = m["shards"] + m["shards"]
    elif case == "photos_listed_twice":
        second = dict(m["shards"][1], photos=m["shards"][0]["photos"])
        m["shards"] = [m["shards"][0], second]
    elif case == "format_version_garbage":
        m["format_version"] = "one"
    elif case == "shard_entry_garbage":
        m["shards"][0] = m["shards"][0]["file"]
    elif case == "shard_faces_garbage":
        m["shards"][0]["faces"] = "many"
    else:
        raise KeyError(case)
    path.write_text(json.dumps(m), encoding="utf-8")
    return out


# ------------------------------------------------------------------------------------------------- bad videos

VIDEO_ERRORS: dict[str, str] = {
    "header_only.mp4": "no frame could be decoded",  # a faststart MP4 cut before its first frame's data
    "photo.mp4": "a JPEG image, not a video",  # a photo named .mp4: not the odd-size message
    "bomb.mkv": "frames of 12000x12000 exceed the limit",  # refused before any frame is decoded
    "size_change.mkv": "the frame size changes at frame 3 (64x48 -> 80x64)",  # not silently rescaled
}
"""Videos that must fail, in one line, and words of the reason (issue 26)."""

VIDEO_WARNINGS: dict[str, str] = {
    "cut_faststart.mp4": "the file ends early",  # cut at 50%
    "cut.mkv": "the file ends early",  # cut at 50%
    "damaged_packet.mkv": "damaged packet(s) skipped",  # one packet's bytes overwritten
}
"""Videos restored as far as they decode, each with a warning holding these words (issue 26)."""

VIDEO_VALID = ("odd_size.mkv", "mp4_named.avi", "vfr.mp4")
"""Awkward videos that must be restored like any other (an odd size kept exactly; an MP4 named .avi; a variable
frame rate's duration kept)."""


def _remux(src: Path, dest: Path, **options: str) -> Path:
    import av

    with av.open(str(src)) as s, av.open(str(dest), "w", options=options) as d:
        streams = {st: d.add_stream_from_template(st, opaque=True) for st in s.streams}
        for p in s.demux():
            if p.dts is None:
                continue
            p.stream = streams[p.stream]
            d.mux(p)
    return dest


def _jpeg_packets(path: Path, frames: list[bytes], size: tuple[int, int]) -> Path:
    """An MJPEG stream of the given JPEG files in a Matroska file declaring ``size`` (each JPEG keeps its own)."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w", format="matroska") as c:
        s = c.add_stream("mjpeg", rate=25)
        s.width, s.height, s.pix_fmt, s.time_base = size[0], size[1], "yuvj420p", Fraction(1, 25)
        for i, data in enumerate(frames):
            p = av.Packet(data)
            p.pts = p.dts = i
            p.time_base, p.stream = Fraction(1, 25), s
            c.mux(p)
    return path


def _bomb_jpeg(side: int) -> bytes:
    """A 16x16 JPEG whose header declares ``side`` x ``side`` pixels (a few hundred bytes)."""
    data = bytearray(_encode(np.full((16, 16, 3), 90, np.uint8), "JPEG", quality=90))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = side.to_bytes(2, "big") * 2
    return bytes(data)


def make_video_corpus(folder: Path, clip: Path, mkv_clip: Path, vfr_clip: Path) -> dict[str, Path]:
    """Every case of :data:`VIDEO_ERRORS`, :data:`VIDEO_WARNINGS` and :data:`VIDEO_VALID` written into ``folder``,
    made from ``clip`` (an H.264 .mp4 with a censored face on every frame, at least 25 frames, written with its moov
    atom at the end, as PyAV writes it), ``mkv_clip`` (the same in Matroska) and ``vfr_clip`` (the same at a
    variable frame rate, .mp4)."""
    import av

    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    fast = _remux(clip, folder / "faststart.mp4", movflags="faststart")
    data = fast.read_bytes()
    (folder / "cut_faststart.mp4").write_bytes(data[: len(data) // 2])
    with av.open(str(fast)) as c:
        first = next(p for p in c.demux(video=0) if p.size)
    (folder / "header_only.mp4").write_bytes(data[: first.pos])  # every header, no frame's data
    fast.unlink()
    mkv = mkv_clip
    data = mkv.read_bytes()
    (folder / "cut.mkv").write_bytes(data[: len(data) // 2])
    with av.open(str(mkv)) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    pos, size = packets[len(packets) // 2]
    damaged = bytearray(data)
    damaged[pos + 4 : pos + size - 4] = np.random.default_rng(5).integers(0, 256, size - 8, dtype=np.uint8).tobytes()
    (folder / "damaged_packet.mkv").write_bytes(bytes(damaged))
    (folder / "photo.mp4").write_bytes(_encode(_noise(33, 47, 16), "JPEG", quality=90))
    _jpeg_packets(folder / "bomb.mkv", [_bomb_jpeg(12000)] * 3, (12000, 12000))
    frames = [
        _encode(_noise(h, w, 17 + i), "JPEG", quality=80) for i, (w, h) in enumerate([(64, 48)] * 3 + [(80, 64)] * 3)
    ]
    _jpeg_packets(folder / "size_change.mkv", frames, (64, 48))
    _odd(clip, folder / "odd_size.mkv")
    shutil.copyfile(clip, folder / "mp4_named.avi")
    shutil.copyfile(vfr_clip, folder / "vfr.mp4")
    for name in (*VIDEO_ERRORS, *VIDEO_WARNINGS, *VIDEO_VALID):
        paths[name] = folder / name
    return paths


def _odd(clip: Path, dest: Path) -> Path:
    """``clip``'s frames cropped to an odd size (one pixel less each way), H.264 4:4:4 in Matroska (x264's 4:2:0
    needs even sides)."""
    import av

    with av.open(str(clip)) as src, av.open(str(dest), "w") as out:
        v = None
        for frame in src.decode(video=0):
            rgb = np.ascontiguousarray(frame.to_ndarray(format="rgb24")[:-1, :-1])
            if v is None:
                v = out.add_stream("libx264", rate=25, options={"crf": "12"})
                v.height, v.width = rgb.shape[:2]
                v.pix_fmt, v.time_base = "yuv444p", frame.time_base
            f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv444p")
            f.pts, f.time_base = frame.pts, frame.time_base
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    return dest
