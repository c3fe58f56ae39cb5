"""Reading and writing photos robustly, and the provenance tag every output carries.

Array conventions: ``rgb`` is ``HxWx3`` ``uint8`` RGB; ``alpha`` is ``HxW`` ``uint8`` (255 = opaque) or ``None``.

Reading (:func:`read_image`) refuses anything it cannot load completely and says why in one line
(:class:`ImageError`): missing, directory, special file, unreadable, empty, not an image, too many pixels (checked on
the declared size *before* decoding), truncated or corrupt. Only the formats in :data:`READ_FORMATS` are opened, so a
renamed EPS/PDF never reaches a delegate program. EXIF orientation is applied to the pixels; every colour mode is
brought to 8-bit RGB (16-bit scaled, not clipped; CMYK through its ICC profile when it has one), alpha is kept.

Writing (:func:`write_image`) is atomic: a temporary file in the destination folder, fsync, :func:`os.replace`; on any
error the temporary file is removed and the destination is untouched. ICC and EXIF are kept (orientation 1, since the
pixels are upright) and a provenance tag saying the image was partly synthesised is embedded: PNG text chunk
``unmask`` + XMP; JPEG/WebP XMP + EXIF ImageDescription/UserComment; TIFF ImageDescription; GIF comment. Formats that
cannot carry a tag (BMP) are not written; :func:`output_suffix` maps them to PNG.

PIL's two global switches (``Image.MAX_IMAGE_PIXELS``, ``ImageFile.LOAD_TRUNCATED_IMAGES``) are set for the duration
of each open+decode under a module lock, so reads are serialised while PIL decodes; the library never changes them
permanently.
"""

from __future__ import annotations

import contextlib
import errno
import html
import json
import os
import re
import stat
import tempfile
import threading
import warnings
from dataclasses import asdict, dataclass
from io import BytesIO, RawIOBase
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

import numpy as np
from PIL import ExifTags, Image, ImageCms, ImageFile, ImageOps, PngImagePlugin, UnidentifiedImageError

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

WRITE_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "GIF")
"""Formats :func:`write_image` writes: the ones that can carry the provenance tag."""

FALLBACK_FORMAT = "PNG"
"""Format used for an output whose input format cannot carry the tag (BMP)."""

_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "GIF": ".gif", "BMP": ".bmp"}
_ALIASES = {"JPG": "JPEG", "JPE": "JPEG", "MPO": "JPEG", "TIF": "TIFF"}
_ALPHA_FORMATS = ("PNG", "WEBP", "TIFF")

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
_XMP_NS = "https://github.com/unmask/unmask/ns/provenance/1.0/"
_XMP_ATTR = re.compile(rb'unmask:provenance="([^"]*)"')
_SYNTHETIC = "Synthetic:"


class ImageError(Exception):
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
    ``provenance``: the tag of :func:`write_image` when the file carries one (it is an output of unmask), else ``None``.
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


@dataclass
class Provenance:
    """What an output says about itself: which ``regions`` (e.g. ``["eyes"]``) of how many ``faces`` were synthesised
    by which ``model`` (and ``model_version``) with which unmask ``tool_version``."""

    regions: list[str]
    model: str
    model_version: str
    tool_version: str
    faces: int

    def to_dict(self) -> dict[str, Any]:
        return {"synthetic": True, **asdict(self)}

    def to_text(self) -> str:
        """One ASCII sentence beginning ``Synthetic:``, followed by the JSON of :meth:`to_dict`."""
        regions = " and ".join(_plain(r) for r in self.regions) or "parts"
        faces = f"{self.faces} face" + ("" if self.faces == 1 else "s")
        sentence = (
            f"{_SYNTHETIC} the {regions} of {faces} in this image were generated by unmask {_plain(self.tool_version)} "
            f"(model {_plain(self.model)} {_plain(self.model_version)}); they are not a record of the real face."
        )
        return f"{sentence} {json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=True)}"

    def to_xmp(self) -> bytes:
        """An XMP packet with the sentence (dc:description), the JSON (unmask:provenance) and IPTC's digital source
        type for composites that include generated content."""
        text = html.escape(self.to_text(), quote=True)
        data = html.escape(json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=True), quote=True)
        packet = (
            '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
            ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
            '  <rdf:Description rdf:about=""\n'
            '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
            '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
            f'    xmlns:unmask="{_XMP_NS}"\n'
            '    Iptc4xmpExt:DigitalSourceType='
            '"http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"\n'
            f'    unmask:provenance="{data}">\n'
            f'   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></dc:description>\n'
            "  </rdf:Description>\n"
            " </rdf:RDF>\n"
            "</x:xmpmeta>\n"
            '<?xpacket end="w"?>'
        )
        return packet.encode("utf-8")


def _plain(text: str) -> str:
    """ASCII, no braces (the first ``{`` of a tag starts its JSON)."""
    return text.encode("ascii", "replace").decode("ascii").replace("{", "(").replace("}", ")")


def parse_provenance(text: str | bytes | None) -> dict[str, Any] | None:
    """The JSON object of a tag written by :meth:`Provenance.to_text`, or ``None`` if ``text`` is not one."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip("\x00 \t\r\n")
    if not text.startswith(_SYNTHETIC) or "{" not in text:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text[text.index("{") :])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# --------------------------------------------------------------------------------------------------------- reading


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


def _too_large(w: int, h: int, max_pixels: int) -> ImageError:
    return ImageError(
        f"too large: {w}x{h} = {w * h / 1e6:.1f} megapixels exceeds the limit of {max_pixels / 1e6:.1f} "
        "(possible decompression bomb; raise --max-pixels to allow it)",
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
    except Exception:  # malformed EXIF: drop it rather than refuse the photo
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
        except Exception as e:  # any parser failure on untrusted data is a corrupt file, whatever PIL raises
            text = str(e) or type(e).__name__
            kind = "truncated" if "truncat" in text.lower() or isinstance(e, EOFError) else "corrupt"
            raise ImageError(f"{'truncated' if kind == 'truncated' else 'corrupt'} image data ({text})", kind) from None
        icc = im.info.get("icc_profile") or None
        with _quiet():
            try:
                tag = _find_provenance(im)
            except Exception:  # an odd metadata block must not cost a readable photo
                tag = None
            try:
                upright = ImageOps.exif_transpose(im)
            except Exception:  # malformed EXIF orientation: keep the stored orientation
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


# --------------------------------------------------------------------------------------------------------- writing


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
        except Exception:
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


def default_file_mode() -> int:
    """The mode a plainly created file gets here (0o666 minus the umask): for atomically written files, whose
    temporary files start as 0o600."""
    return 0o666 & ~_umask()


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


TEMP_SUFFIX = ".tmp"
"""Suffix of the temporary files :func:`write_atomic` writes before renaming them: ``.NAME.PID.XXXXXXXX.tmp``
(hidden; ``PID`` is the writing process, so a run can tell its own and other live runs' files from a dead one's)."""


def _temp_prefix(path: Path, pid: int | None = None) -> str:
    return f".{path.name[:100]}.{os.getpid() if pid is None else pid}."


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (``True`` when that cannot be told: keep its files rather than delete them)."""
    if pid == os.getpid():
        return True
    if os.name == "nt" or pid <= 0:  # os.kill(pid, 0) would signal on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def remove_stale_temps(outputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Removes the temporary files that a killed :func:`write_atomic` left next to ``outputs`` and returns their
    paths (``kill -9`` gives no chance to clean up). One listing per folder.

    A temporary file ``.NAME.PID.XXXXXXXX.tmp`` is removed only when process ``PID`` no longer exists: a live run's
    files (this process's too) are left alone. Files of the older form ``.NAME.XXXXXXXX.tmp`` carry no process and
    are removed."""
    by_folder: dict[Path, set[str]] = {}
    for out in outputs:
        p = Path(out)
        by_folder.setdefault(p.parent, set()).add(f".{p.name[:100]}.")
    removed: list[Path] = []
    for folder, prefixes in by_folder.items():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.endswith(TEMP_SUFFIX):
                continue
            head, dot, rand = name[: -len(TEMP_SUFFIX)].rpartition(".")
            if not (dot and len(rand) == 8):
                continue
            if f"{head}." not in prefixes:  # the pid form: .NAME.PID
                base, dot, pid = head.rpartition(".")
                if not (dot and pid.isdigit() and f"{base}." in prefixes) or _pid_alive(int(pid)):
                    continue
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(folder / name).st_mode):
                    os.unlink(folder / name)
                    removed.append(folder / name)
    return removed


def _write_all(fd: int, data: bytes) -> None:
    """``data`` to ``fd`` completely, or ``OSError``: a short write (full disk, file-size limit) is an error."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.ENOSPC, "No space left on device (short write)")
        view = view[n:]


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Writes ``data`` (an encoded file, complete in memory) to ``path`` so that ``path`` is either untouched or
    holds all of ``data`` (:func:`atomic_file`). ``mode``: the new file's permissions (default: an existing
    ``path``'s, else those a plainly created file gets). The parent folder must exist. Raises ``OSError``; on any
    failure the temporary file is removed."""
    with atomic_file(path, mode) as f:
        f.write(data)


class _CheckedWriter(RawIOBase):
    """A write-only binary file on ``fd`` that writes every byte it is given or raises (:func:`_write_all`), and
    counts them."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd, self.written = fd, 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        _write_all(self.fd, view)
        self.written += len(view)
        return len(view)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: int | None = None) -> Iterator[BinaryIO]:
    """The library's one atomic write, for every writer (images, models, checkpoints, training sets): yields a
    binary file to write ``path``'s new content to (``f.write``, ``torch.save(obj, f)``, ``np.save(f, a)``);
    every byte is written or ``OSError`` is raised (a short write, from a full disk or a file-size limit, is an
    error), the size is checked on the file itself, and only then does the file replace ``path``
    (:func:`atomic_path`: fsync, ``mode``, rename). On any error ``path`` is untouched and no temporary file
    stays."""
    with atomic_path(path, mode) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            f = _CheckedWriter(fd)
            yield f  # type: ignore[misc]
            size = os.fstat(fd).st_size
            if size != f.written:
                raise OSError(errno.EIO, f"short write ({size} of {f.written} bytes reached the disk)")
        finally:
            os.close(fd)


def temp_path(path: str | os.PathLike[str]) -> Path:
    """A new empty file owned by this process next to ``path``, named as :func:`remove_stale_temps` knows
    (``.NAME.PID.XXXXXXXX.tmp``), for the caller to write and remove."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], mode: int | None = None) -> Iterator[Path]:
    """For outputs too large to hold in memory (videos): yields a temporary path owned by this process next to
    ``path`` (the ``.NAME.PID.XXXXXXXX.tmp`` form :func:`remove_stale_temps` knows) for the caller to write; when
    the block ends without error the file is fsynced, given ``mode`` (as :func:`write_atomic`) and renamed to
    ``path``; on any error, ``KeyboardInterrupt`` included, it is removed and ``path`` is untouched."""
    path = Path(path)
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            mode = default_file_mode()
    tmp = temp_path(path)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


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


# ------------------------------------------------------------------------------------------------------ provenance


def read_provenance(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any] | None:
    """The provenance JSON embedded by :func:`write_image` (PNG text, XMP, EXIF, GIF comment or TIFF description),
    or by the video path in a video's container metadata, or ``None`` when the file carries none. Raises
    :class:`ImageError` if the file cannot be opened."""
    path = Path(path)
    _check_file(path)
    from unmask.video.formats import is_video_name

    if is_video_name(path):
        from unmask.video.stream import VideoError, read_video_provenance

        try:
            return read_video_provenance(path)
        except VideoError as e:
            raise ImageError(str(e), "corrupt") from None
    try:
        with open(path, "rb") as f, _pil_guards(max_pixels):
            im = Image.open(f, formats=READ_FORMATS)
            w, h = im.size
            if w * h > max_pixels:
                raise _too_large(w, h, max_pixels)
            _limit_on(max_pixels)
            with _quiet():
                return _find_provenance(im)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("not an image", "not_image") from None
    except OSError as e:
        raise _os_error(e, "read the file") from None
    except Exception as e:
        raise ImageError(f"corrupt image data ({e})", "corrupt") from None


def _find_provenance(im: Image.Image) -> dict[str, Any] | None:
    found = parse_provenance(im.info.get("unmask")) or parse_provenance(im.info.get("comment"))
    if found:
        return found
    for key in ("xmp", "XML:com.adobe.xmp"):
        xmp = im.info.get(key)
        if isinstance(xmp, str):
            xmp = xmp.encode("utf-8")
        match = _XMP_ATTR.search(xmp) if xmp else None
        if match:
            with contextlib.suppress(ValueError):
                value = json.loads(html.unescape(match.group(1).decode("utf-8", "replace")))
                if isinstance(value, dict):
                    return value
    exif = im.getexif()
    found = parse_provenance(exif.get(ExifTags.Base.ImageDescription))
    if found:
        return found
    comment = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.UserComment)
    if isinstance(comment, bytes) and len(comment) > 8:
        found = parse_provenance(comment[8:])
    if found:
        return found
    if im.format == "PNG":  # text chunks after the image data are only seen once it is read
        im.load()
        return parse_provenance(getattr(im, "text", {}).get("unmask"))
    return None
