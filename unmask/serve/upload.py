"""What a client sends, checked before any work: the uploaded bytes (:func:`sniff`: an image format unmask reads,
not a video, not something else) and the form's choices (:func:`parse_choices`). Every refusal is a
:class:`Refused` with the HTTP status and one line saying why; no name or path a client sends is ever opened (a
file name is only looked at for its extension, to say that a video is one)."""

from __future__ import annotations

from dataclasses import dataclass

from unmask.infer.face.choose import Choice
from unmask.infer.io.read import EXTENSIONS, READ_FORMATS
from unmask.infer.io.write import WRITE_FORMATS, format_name
from unmask.infer.video.formats import is_video_name
from unmask.spec import AUTO, RUN_REGIONS
from unmask.errors import UsageError

TOO_LARGE, NOT_IMAGE, BAD_VALUE, BUSY = 413, 415, 422, 503
"""The answers to a refused request (the README's table): an upload over the limit or a decompression bomb, a
file that is not an image (a video too), a bad form value, no room in the queue."""

_VIDEO_MAGIC = ((4, b"ftyp"), (0, b"\x1a\x45\xdf\xa3"), (8, b"AVI "))
"""(offset, bytes) of the video containers unmask reads: MP4/MOV/M4V, Matroska/WebM, AVI."""
_IMAGE_MAGIC = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (8, b"WEBP", "WEBP"),
    (0, b"BM", "BMP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"GIF8", "GIF"),
)
"""(offset, bytes, format) of the formats :func:`unmask.infer.io.read.read_image` opens (``READ_FORMATS``)."""


class Refused(UsageError):
    """A request answered with ``status`` and ``message`` (one line, plain words) instead of work."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())


@dataclass(frozen=True)
class Choices:
    """A request's choices, checked: ``region`` (eyes, mouth, auto), ``model`` (an installed model's name, or None
    for the region's default), ``choice`` (which faces), ``fmt`` (the output's format, None: the upload's)."""

    region: str = AUTO
    model: str | None = None
    choice: Choice = Choice()
    fmt: str | None = None


def is_video(data: bytes, filename: str | None) -> bool:
    """Whether the upload is a video: its first bytes, or the extension of the name the client gave."""
    if filename and is_video_name(filename):
        return True
    return any(data[at : at + len(magic)] == magic for at, magic in _VIDEO_MAGIC)


def sniff(data: bytes, filename: str | None, what: str = "file") -> str:
    """The extension (``.png``, ``.jpg`` ...) for an uploaded image's bytes, told by their first bytes (nothing is
    decoded here: the header and the pixel limit are checked by the reader, in the worker). :class:`Refused` 415
    for a video or anything else."""
    if not data:
        raise Refused(NOT_IMAGE, f"the {what} is empty")
    if is_video(data, filename):
        raise Refused(NOT_IMAGE, f"the {what} is a video: the server restores photos (run `unmask CLIP` for a video)")
    fmt = next((name for at, magic, name in _IMAGE_MAGIC if data[at : at + len(magic)] == magic), None)
    if fmt is None:
        raise Refused(NOT_IMAGE, f"the {what} is not an image unmask reads ({', '.join(READ_FORMATS)})")
    return next(ext for ext, name in EXTENSIONS.items() if name == fmt)


def parse_choices(region: str | None, model: str | None, faces: str | None, largest: str | None, fmt: str | None,
                  models: list[str]) -> Choices:  # fmt: skip
    """The form's values as :class:`Choices`; :class:`Refused` 422 naming the field and why. ``models``: the names
    a client may choose (the installed models); a value that is not one of them is refused, never opened."""
    region = (region or AUTO).strip()
    if region not in RUN_REGIONS:
        raise Refused(BAD_VALUE, f"region {region!r}: choose {', '.join(RUN_REGIONS)}")
    model = (model or "").strip() or None
    if model is not None and model not in models:
        raise Refused(BAD_VALUE, f"model {model!r} is not installed (choose {', '.join(models) or 'none: no model'})")
    indices = None
    if faces is not None and faces.strip():
        try:
            indices = tuple(int(p) for p in faces.split(","))
        except ValueError:
            raise Refused(BAD_VALUE, f"faces {faces!r}: give face numbers separated by commas, e.g. 0,2") from None
    flag = (largest or "").strip().lower()
    if flag not in ("", "0", "1", "true", "false", "on", "off"):
        raise Refused(BAD_VALUE, f"largest {largest!r}: give true or false")
    try:
        choice = Choice(indices=indices, largest=flag in ("1", "true", "on"))
    except ValueError as e:
        raise Refused(BAD_VALUE, f"faces: {e}") from None
    out_fmt = (fmt or "").strip() or None
    if out_fmt is not None:
        try:
            name = format_name(out_fmt)
        except ValueError as e:
            raise Refused(BAD_VALUE, f"format: {e}") from None
        if name not in WRITE_FORMATS:
            raise Refused(
                BAD_VALUE, f"format {out_fmt!r} cannot carry the 'synthetic' tag: choose png, jpg, webp or tif"
            )
    return Choices(region, model, choice, out_fmt)
