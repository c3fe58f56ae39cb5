"""Writing restored photos: :func:`write_image` (atomic, with the provenance tag) and :func:`write_png`.

:func:`write_image` encodes in memory and writes through :func:`unmask.infer.io.atomic.write_atomic`: on any error the
destination is untouched. ICC and EXIF are kept (orientation 1, since the pixels are upright) and a provenance tag
saying the image was partly synthesised is embedded: PNG text chunk ``unmask`` + XMP; JPEG/WebP XMP + EXIF
ImageDescription/UserComment; TIFF ImageDescription; GIF comment. Formats that cannot carry a tag (BMP) are not
written; :func:`output_suffix` maps them to PNG.
"""

from __future__ import annotations

import contextlib
import os
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, PngImagePlugin

from unmask.infer.io.atomic import write_atomic
from unmask.infer.io.provenance import Provenance, _plain
from unmask.infer.io.read import (
    _ORIENTATION,
    EXTENSIONS,
    ImageError,
    Loaded,
    _icc_space,
    _quiet,
)

WRITE_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "GIF")
"""Formats :func:`write_image` writes: the ones that can carry the provenance tag."""

FALLBACK_FORMAT = "PNG"
"""Format used for an output whose input format cannot carry the tag (BMP)."""

_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "GIF": ".gif", "BMP": ".bmp"}
_ALIASES = {"JPG": "JPEG", "JPE": "JPEG", "MPO": "JPEG", "TIF": "TIFF"}
_ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")


def format_name(name: str) -> str:
    """Canonical PIL format of ``name`` (``"jpg"``, ``".JPEG"``, ``"png"``, ...). Raises ``ValueError`` if unknown."""
    key = name.strip().lower()
    if key.startswith("."):
        key = key[1:]
    if f".{key}" in EXTENSIONS:
        return EXTENSIONS[f".{key}"]
    upper = key.upper()
    upper = _ALIASES.get(upper, upper)
    if upper in _SUFFIX:
        return upper
    raise ValueError(f"unknown image format {name!r} (choose from {', '.join(WRITE_FORMATS).lower()})")


def output_suffix(suffix: str, fmt: str | None = None) -> str:
    """Extension of the output for an input with extension ``suffix``: ``fmt``'s when given (``ValueError`` if it
    cannot carry the tag), else the input's own, except formats that cannot carry the tag, which become ``.png``."""
    if fmt is not None:
        name = format_name(fmt)
        if name not in WRITE_FORMATS:
            raise ValueError(f"{name} cannot carry the 'synthetic' provenance tag; choose {', '.join(WRITE_FORMATS)}")
        return _SUFFIX[name]
    name = EXTENSIONS.get(suffix.lower())
    if name is None or name not in WRITE_FORMATS:
        return _SUFFIX[FALLBACK_FORMAT]
    return suffix


def _resolve_format(path: Path, format: str | None, like: Loaded | None) -> str:
    if format is not None:
        name = format_name(format)
    elif path.suffix.lower() in EXTENSIONS:
        name = EXTENSIONS[path.suffix.lower()]
    elif like is not None:
        name = _ALIASES.get(like.format, like.format)
    else:
        raise ValueError(f"cannot tell the format of {path.name!r}: give format= or an image extension")
    if name not in WRITE_FORMATS:
        raise ImageError(
            f"{name} cannot carry the 'synthetic' provenance tag; write {', '.join(WRITE_FORMATS)} instead",
            "unsupported",
        )
    return name


def _exif_out(src: bytes | None, tag: Provenance, size: tuple[int, int]) -> bytes:
    """The input's EXIF (orientation 1, pixel size updated) plus the tag; only the tag if the input's cannot be
    re-encoded (odd maker notes must not cost the output its tag)."""
    if src:
        try:
            with _quiet():
                return _exif_tagged(src, tag, size).tobytes()
        except Exception:  # noqa: BLE001 - odd maker notes: the tag goes into a fresh EXIF block instead
            pass
    return _exif_tagged(None, tag, size).tobytes()


def _exif_tagged(src: bytes | None, tag: Provenance, size: tuple[int, int]) -> Image.Exif:
    exif = Image.Exif()
    if src:
        exif.load(src)
    if _ORIENTATION in exif:
        exif[_ORIENTATION] = 1
    text = tag.to_text()
    exif[ExifTags.Base.ImageDescription] = text
    exif[ExifTags.Base.Software] = f"unmask {_plain(tag.tool_version)}"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.UserComment] = b"ASCII\x00\x00\x00" + text.encode("ascii")
    if ExifTags.Base.ExifImageWidth in sub or ExifTags.Base.ExifImageHeight in sub:
        sub[ExifTags.Base.ExifImageWidth], sub[ExifTags.Base.ExifImageHeight] = size
    return exif


def _save_options(fmt: str, tag: Provenance, like: Loaded | None, size: tuple[int, int], quality: int) -> dict:
    icc = like.icc if like is not None and _icc_space(like.icc) == b"RGB " else None
    exif = _exif_out(like.exif if like is not None else None, tag, size)
    opts: dict[str, Any] = {}
    if icc:
        opts["icc_profile"] = icc
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("unmask", tag.to_text())
        info.add_itxt("XML:com.adobe.xmp", tag.to_xmp().decode("utf-8"))
        opts.update(pnginfo=info, exif=exif)
    elif fmt == "JPEG":  # full-resolution colour at high quality: no chroma bleeding across the pasted edges
        opts.update(quality=quality, exif=exif, xmp=tag.to_xmp(), subsampling=0 if quality >= 90 else -1)
    elif fmt == "WEBP":  # exact: keep the colour under transparent pixels
        opts.update(quality=quality, exif=exif, xmp=tag.to_xmp(), exact=True)
    elif fmt == "TIFF":  # libtiff's compressors cannot write an EXIF sub-IFD: a photo with EXIF is kept uncompressed
        opts.update(description=tag.to_text())
        if like is not None and like.exif:
            opts.update(exif=exif)
        else:
            opts.update(compression="tiff_lzw")
    elif fmt == "GIF":
        opts.update(comment=tag.to_text())
    return opts


def encode_image(image: Image.Image, fmt: str, **options: Any) -> bytes:
    """``image`` encoded as ``fmt`` in memory (so a full disk can never leave a half-encoded file)."""
    buf = BytesIO()
    image.save(buf, format=fmt, **options)
    data = buf.getvalue()
    if not data:
        raise ValueError("the encoder produced no data")
    return data


def write_png(path: str | os.PathLike[str], rgb: np.ndarray) -> None:
    """A picture the library makes itself (a validation or evaluation grid; not a restored photo, so no
    provenance tag): ``rgb`` (HxWx3 uint8) as PNG, parent folders created, written by :func:`write_atomic`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, encode_image(Image.fromarray(np.ascontiguousarray(rgb)), "PNG"))


def write_picture(path: str | os.PathLike[str], rgb: np.ndarray, tag: Provenance | None = None) -> None:
    """A picture the library draws in the format its file name names (``faces.jpg`` is a JPEG at quality 95,
    ``faces.png`` a PNG; ``ValueError`` for a name of no image format), parent folders created, written by
    :func:`write_atomic`. ``tag``: its provenance tag (:func:`unmask.infer.io.provenance.drawn_tag`), so a later run
    knows it for an output. A failure to write is an :class:`ImageError` naming ``path`` (never a temporary file)."""
    path = Path(path)
    fmt = format_name(path.suffix or "none")
    rgb = np.ascontiguousarray(rgb)
    options = _save_options(fmt, tag, None, (rgb.shape[1], rgb.shape[0]), 95) if tag is not None else {}
    if tag is None and fmt in ("JPEG", "WEBP"):
        options = {"quality": 95}
    data = encode_image(Image.fromarray(rgb), fmt, **options)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as e:
        raise ImageError(f"cannot write {path}: {e.strerror or e}", "write") from None


def _write_error(e: OSError) -> ImageError:
    return ImageError(f"cannot write the output: {e.strerror or e}", "write")


def write_image(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    *,
    like: Loaded | None = None,
    tag: Provenance,
    format: str | None = None,
    alpha: np.ndarray | None = None,
    quality: int = 95,
) -> None:
    """Atomically write ``rgb`` (``HxWx3`` ``uint8``) to ``path`` with the provenance ``tag``.

    Format: ``format`` if given, else the extension of ``path``, else ``like.format``. ``like`` (the
    :class:`Loaded` input) supplies the ICC profile and EXIF (orientation 1) and, when ``alpha`` is ``None``, its alpha
    if the size matches; alpha (``HxW`` ``uint8``) is written for PNG, WebP and TIFF. Parent folders are created.
    Refuses to overwrite ``like.path``. The image is encoded in memory and written by :func:`write_atomic`, so a full
    disk or a file-size limit is an error, never a truncated file. Any failure raises :class:`ImageError` and leaves
    no file behind.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be HxWx3 uint8 (got {rgb.shape} {rgb.dtype})")
    if alpha is None and like is not None and like.alpha is not None and like.alpha.shape == rgb.shape[:2]:
        alpha = like.alpha
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]:
            raise ValueError(f"alpha must be HxW uint8 matching rgb (got {alpha.shape} {alpha.dtype})")
    path = Path(path)
    fmt = _resolve_format(path, format, like)
    try:
        if like is not None and like.path is not None and os.path.lexists(path):
            with contextlib.suppress(FileNotFoundError):
                if os.path.samefile(path, like.path):
                    raise ImageError("refusing to overwrite the input file", "write")
        if path.is_dir():
            raise ImageError("output path is a directory", "write")
    except OSError as e:  # e.g. a name too long for the file system
        raise _write_error(e) from None
    h, w = rgb.shape[:2]
    pixels = np.dstack([rgb, alpha]) if alpha is not None and fmt in _ALPHA_FORMATS else rgb
    image = Image.fromarray(np.ascontiguousarray(pixels))
    options = _save_options(fmt, tag, like, (w, h), quality)
    try:
        try:
            data = encode_image(image, fmt, **options)
        except (ValueError, TypeError, KeyError, RuntimeError, OSError):
            if not (fmt == "TIFF" and "exif" in options):
                raise
            options = {k: v for k, v in options.items() if k != "exif"}  # EXIF PIL cannot write: keep the tag
            data = encode_image(image, fmt, compression="tiff_lzw", **options)
    except OSError as e:
        raise ImageError(f"cannot encode {fmt}: {e.strerror or e}", "write") from None
    except (ValueError, TypeError, KeyError, RuntimeError) as e:
        raise ImageError(f"cannot encode {fmt}: {e}", "write") from None
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ImageError(f"cannot create output folder: {e.strerror or e}", "write") from None
    try:
        write_atomic(path, data)
    except OSError as e:
        raise _write_error(e) from None
