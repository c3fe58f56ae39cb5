"""Reading photos robustly: :func:`read_image` (and :func:`read_provenance`, the tag of a file).

:func:`read_image` refuses anything it cannot load completely and says why in one line (:class:`ImageError`):
missing, directory, special file, unreadable, empty, not an image, too many pixels (checked on the declared size
*before* decoding), truncated or corrupt. Only the formats in :data:`READ_FORMATS` are opened, so a renamed EPS/PDF
never reaches a delegate program. EXIF orientation is applied to the pixels; every colour mode is brought to 8-bit
RGB (16-bit scaled, not clipped; CMYK through its ICC profile when it has one), alpha is kept.

PIL's two global switches (``Image.MAX_IMAGE_PIXELS``, ``ImageFile.LOAD_TRUNCATED_IMAGES``) are set for the duration
of each open+decode under a module lock, so reads are serialised while PIL decodes; the library never changes them
permanently.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from unmask.infer.io.provenance import find_provenance
from unmask.errors import InputError

DEFAULT_MAX_PIXELS = 100_000_000
"""Largest declared width x height read by default (a 24 MP photo is far below; a decompression bomb is far above)."""

READ_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")
"""PIL openers :func:`read_image` uses (the JPEG one also opens MPO, the multi-picture JPEG many cameras write)."""

EXTENSIONS: dict[str, str] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".gif": "GIF",
}
"""Image file extensions (lower case) and the format each names."""

KINDS = (
    "missing",
    "directory",
    "not_file",
    "permission",
    "empty",
    "not_image",
    "too_large",
    "truncated",
    "corrupt",
    "unsupported",
    "io",
    "write",
)
"""Values of :attr:`ImageError.kind`."""

_PIL_LOCK = threading.RLock()
_ORIENTATION = ExifTags.Base.Orientation


class ImageError(InputError):
    """An image that cannot be read or written. ``str(err)`` is one line naming the reason (no path: the caller adds
    it); ``kind`` is one of :data:`KINDS`."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(" ".join(message.split()))
        self.kind = kind


@dataclass(eq=False)
class Loaded:
    """A decoded photo.

    ``rgb``: ``HxWx3`` ``uint8`` RGB, EXIF orientation applied. ``alpha``: ``HxW`` ``uint8`` or ``None``.
    ``format``: PIL format name of the file (``"JPEG"``, ``"PNG"``, ...). ``exif``: EXIF bytes with orientation reset to
    1, or ``None``. ``icc``: an RGB ICC profile describing ``rgb``, or ``None`` (profiles of other colour spaces are
    dropped since the pixels are now RGB; CMYK converted through its profile gets sRGB's). ``mode``: the file's PIL
    mode. ``frames``: number of frames (only the first is loaded). ``size``: ``(w, h)`` of ``rgb``. ``path``: the file.
    ``provenance``: the tag of :func:`unmask.infer.io.write.write_image` when the file carries one (it is an output of
    unmask), else ``None``.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    format: str
    exif: bytes | None
    icc: bytes | None
    mode: str
    frames: int
    size: tuple[int, int]
    path: Path | None = None
    provenance: dict[str, Any] | None = None


@contextlib.contextmanager
def _pil_guards(max_pixels: int) -> Iterator[None]:
    """PIL refuses truncated data and more than ``max_pixels`` while inside; both globals are restored after.

    ``Image.open`` itself runs with PIL's check off (``_limit_on`` turns it on right after): the caller checks the
    declared size first, so the refusal names our limit rather than PIL's doubled one.
    """
    with _PIL_LOCK:
        saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
        Image.MAX_IMAGE_PIXELS = None
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # corrupt EXIF: dropped later, never printed
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """PIL warns (``UserWarning``) about corrupt EXIF; the library never prints, and such EXIF is dropped anyway."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _limit_on(max_pixels: int) -> None:
    """Inside :func:`_pil_guards`, after the declared size was checked: PIL's own checks (frames) use our limit."""
    Image.MAX_IMAGE_PIXELS = max_pixels


def pixel_count(n: int) -> str:
    """``n`` pixels in words that stay exact for small limits: "12.0 megapixels", "1,000 pixels"."""
    return f"{n / 1e6:.1f} megapixels" if n >= 100_000 else f"{n:,} pixels"


RAISE_LIMIT = "; raise --max-pixels to allow it"
"""The end of a too-large photo's reason: what `unmask run` offers (callers without that option cut it)."""


def _too_large(w: int, h: int, max_pixels: int) -> ImageError:
    return ImageError(
        f"too large: {w}x{h} = {pixel_count(w * h)} exceeds the limit of {pixel_count(max_pixels)} "
        f"(possible decompression bomb{RAISE_LIMIT})",
        "too_large",
    )


def _os_error(e: OSError, doing: str) -> ImageError:
    if isinstance(e, FileNotFoundError):
        return ImageError("no such file", "missing")
    if isinstance(e, PermissionError):
        return ImageError(f"permission denied ({doing})", "permission")
    if isinstance(e, IsADirectoryError):
        return ImageError("is a directory, not an image", "directory")
    return ImageError(f"cannot {doing}: {e.strerror or e}", "io")


def _check_file(path: Path) -> None:
    try:
        st = os.stat(path)
    except OSError as e:
        raise _os_error(e, "read the file") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError("is a directory, not an image", "directory")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError("not a regular file", "not_file")
    if st.st_size == 0:
        raise ImageError("empty file (0 bytes)", "empty")


def _icc_space(icc: bytes | None) -> bytes:
    return icc[16:20] if icc and len(icc) >= 128 else b""


def _exif_bytes(im: Image.Image) -> bytes | None:
    if not im.info.get("exif") and "Raw profile type exif" not in im.info:
        return None
    try:
        exif = im.getexif()
        if not len(exif):
            return None
        if _ORIENTATION in exif:
            exif[_ORIENTATION] = 1
        return exif.tobytes()
    except Exception:  # noqa: BLE001 - malformed EXIF: drop it rather than refuse the photo
        return None


def _to_rgb(im: Image.Image, icc: bytes | None) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """8-bit RGB (+ alpha) of any PIL mode, and the ICC profile that still describes it."""
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(im)
        if mode == "F":
            arr = np.nan_to_num(arr.astype(np.float64))
            arr = arr * 255.0 if arr.max(initial=0.0) <= 1.0 else arr
            gray = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        elif mode == "I" and arr.max(initial=0) <= 255:  # 8-bit data in a 32-bit container
            gray = np.clip(arr, 0, 255).astype(np.uint8)
        else:  # 16-bit: keep the high byte (65535 -> 255), never clip
            gray = (np.clip(arr, 0, 65535).astype(np.uint16) >> 8).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2), None, None
    if mode == "CMYK":
        if _icc_space(icc) == b"CMYK":
            try:
                srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
                out = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(BytesIO(icc)), srgb, outputMode="RGB")
                if out is not None:
                    return np.array(out), None, srgb.tobytes()
            except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
                pass  # a broken profile: fall back to PIL's plain conversion
        return np.array(im.convert("RGB")), None, None
    keep_icc = icc if _icc_space(icc) == b"RGB " else None
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode in ("P", "L", "RGB") and "transparency" in im.info):
        rgba = np.array(im.convert("RGBA"))
        return np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3]), keep_icc
    try:
        rgb = np.array(im if mode == "RGB" else im.convert("RGB"))
    except ValueError as e:
        raise ImageError(f"unsupported colour mode {mode} ({e})", "unsupported") from None
    return rgb, None, keep_icc


def read_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> Loaded:
    """Decode the first frame of ``path`` completely, upright, as 8-bit RGB (+ alpha); see :class:`Loaded`.

    Refuses (``ImageError``) before decoding when the declared ``w * h`` exceeds ``max_pixels``, and refuses truncated
    data instead of returning a partial picture.
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive (got {max_pixels})")
    path = Path(path)
    _check_file(path)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise _os_error(e, "read the file") from None
    with f:
        try:
            with _pil_guards(max_pixels):
                im = Image.open(f, formats=READ_FORMATS)
                w, h = im.size
                if w * h > max_pixels:
                    raise _too_large(w, h, max_pixels)
                if w < 1 or h < 1:
                    raise ImageError(f"invalid size {w}x{h}", "corrupt")
                _limit_on(max_pixels)
                fmt, mode = str(im.format), im.mode
                frames = int(getattr(im, "n_frames", 1) or 1)
                if frames > 1:
                    im.seek(0)
                im.load()
        except ImageError:
            raise
        except UnidentifiedImageError:
            raise ImageError(
                f"not an image, or not a format unmask reads ({', '.join(READ_FORMATS)})", "not_image"
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageError(f"too large: {e}", "too_large") from None
        except MemoryError:
            raise ImageError("not enough memory to decode it", "too_large") from None
        except Exception as e:  # noqa: BLE001 - any parser failure on untrusted data is a corrupt file, whatever PIL raises
            text = str(e) or type(e).__name__
            kind = "truncated" if "truncat" in text.lower() or isinstance(e, EOFError) else "corrupt"
            raise ImageError(f"{'truncated' if kind == 'truncated' else 'corrupt'} image data ({text})", kind) from None
        icc = im.info.get("icc_profile") or None
        with _quiet():
            try:
                tag = find_provenance(im)
            except Exception:  # noqa: BLE001 - an odd metadata block must not cost a readable photo
                tag = None
            try:
                upright = ImageOps.exif_transpose(im)
            except Exception:  # noqa: BLE001 - malformed EXIF orientation: keep the stored orientation
                upright = im
            exif = _exif_bytes(im)  # after the transpose: this resets the orientation of im's EXIF to 1
        rgb, alpha, icc = _to_rgb(upright, icc)
    return Loaded(
        rgb=rgb,
        alpha=alpha,
        format=fmt,
        exif=exif,
        icc=icc,
        mode=mode,
        frames=frames,
        size=(rgb.shape[1], rgb.shape[0]),
        path=path,
        provenance=tag,
    )


def read_provenance(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any] | None:
    """The provenance JSON embedded by :func:`unmask.infer.io.write.write_image` (PNG text, XMP, EXIF, GIF comment or TIFF
    description), or ``None`` when the photo carries none. Raises :class:`ImageError` if the file cannot be opened
    as a photo. A video's tag: :func:`unmask.infer.video.stream.read_video_provenance` (the photo layer knows no
    videos: the video layer imports it, not the other way)."""
    path = Path(path)
    _check_file(path)
    try:
        with open(path, "rb") as f, _pil_guards(max_pixels):
            im = Image.open(f, formats=READ_FORMATS)
            w, h = im.size
            if w * h > max_pixels:
                raise _too_large(w, h, max_pixels)
            _limit_on(max_pixels)
            with _quiet():
                return find_provenance(im)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("not an image", "not_image") from None
    except OSError as e:
        raise _os_error(e, "read the file") from None
    except Exception as e:  # noqa: BLE001 - untrusted data: whatever PIL raises, the file is corrupt
        raise ImageError(f"corrupt image data ({e})", "corrupt") from None
