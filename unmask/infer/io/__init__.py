"""Reading and writing photos robustly, and the provenance tag every output carries.

Array conventions: ``rgb`` is ``HxWx3`` ``uint8`` RGB; ``alpha`` is ``HxW`` ``uint8`` (255 = opaque) or ``None``.

* :mod:`~unmask.infer.io.read`: :func:`read_image` (EXIF orientation, every colour mode to 8-bit RGB, the size guard
  before decoding, one-line :class:`ImageError` reasons) and :func:`read_provenance`;
* :mod:`~unmask.infer.io.atomic`: the one atomic write every writer uses (:func:`atomic_file`, :func:`write_atomic`,
  :func:`atomic_path`) and the clean-up of a killed writer's temporary files (:func:`remove_stale_temps`);
* :mod:`~unmask.infer.io.write`: :func:`write_image` (a restored photo, atomically, with the provenance tag, ICC and
  EXIF kept) and :func:`write_png` (the library's own pictures);
* :mod:`~unmask.infer.io.provenance`: the tag itself (:class:`Provenance`) and finding it in an image.

The names below are the public API, importable from ``unmask.infer.io``; the library's own modules import them from the
module that defines them.
"""

from unmask.infer.io.atomic import (
    TEMP_SUFFIX,
    atomic_file,
    atomic_path,
    default_file_mode,
    remove_stale_temps,
    temp_path,
    write_atomic,
)
from unmask.infer.io.provenance import Provenance, parse_provenance
from unmask.infer.io.read import (
    DEFAULT_MAX_PIXELS,
    EXTENSIONS,
    KINDS,
    READ_FORMATS,
    ImageError,
    Loaded,
    read_image,
    read_provenance,
)
from unmask.infer.io.write import (
    FALLBACK_FORMAT,
    WRITE_FORMATS,
    encode_image,
    format_name,
    output_suffix,
    write_image,
    write_png,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "EXTENSIONS",
    "FALLBACK_FORMAT",
    "KINDS",
    "READ_FORMATS",
    "TEMP_SUFFIX",
    "WRITE_FORMATS",
    "ImageError",
    "Loaded",
    "Provenance",
    "atomic_file",
    "atomic_path",
    "default_file_mode",
    "encode_image",
    "format_name",
    "output_suffix",
    "parse_provenance",
    "read_image",
    "read_provenance",
    "remove_stale_temps",
    "temp_path",
    "write_atomic",
    "write_image",
    "write_png",
]
