"""Portable training sets: aligned face crops and landmarks in checksummed, WebDataset-style tar shards.

``unmask prepare PHOTOS -o SET`` (:func:`unmask.train.data.shard_writer.write_set`) finds and aligns the largest face of
every photo once (the recipe of :mod:`unmask.train.data.prepare`) and writes a folder that trains on any machine, with or
without mediapipe::

    SET/manifest.json          what the set holds (below); rewritten atomically after every shard
    SET/faces-00000.tar.gz     the faces of photos 0 .. shard_size-1 (those with a usable face)
    SET/faces-00001.tar.gz     ...

Each shard is a gzip-compressed POSIX tar with two members per face, grouped by key as WebDataset groups them
(``KEY`` is the photo's position in the sorted photo list, 7 digits):

* ``KEY.jpg``: the ``size x size`` RGB crop, baseline JPEG (quality
  :data:`~unmask.train.data.shard_writer.DEFAULT_QUALITY`, 4:4:4 chroma);
* ``KEY.lm.npy``: its 478 landmarks, ``478 x 2`` float16, in crop pixels (``np.save`` format, no pickle).

Shards are deterministic (members in key order, mtime 0, no owner names, gzip mtime 0): the same photos and
settings give byte-identical shards. ``manifest.json``:

* ``format`` (``"unmask-faces"``), ``format_version``, ``recipe_version`` (:data:`unmask.train.data.prepare.VERSION`),
  ``complete``;
* ``size``, ``image`` (codec, quality, chroma subsampling), ``landmarks`` (points, dtype, units);
* ``source``: the photo folder's *name* (never a path), the photo count and ``key``, a SHA-256 over the photos'
  names and sizes and the settings (how a resumed preparation knows it continues the same set);
* ``photos``, ``faces``, ``unusable`` (``[name, reason]`` of every photo without a usable face);
* ``shards``: per shard ``file``, ``sha256``, ``bytes``, ``faces``, ``photos`` (``[start, end)`` in the sorted
  photo list), ``names`` (the photo of each face, in order) and ``unusable``.

File names are relative to ``SET``; nothing in the set names the machine it was made on.

Why tar shards: a tar of small files is what WebDataset, ``tar``, and Python's own :mod:`tarfile` all read, so a
set needs no unmask (nor mediapipe) to inspect or reuse, and a few large files move between machines and object
stores far better than 12,000 small ones. gzip removes the tar headers' and padding's overhead (18% of a shard:
10.2 KB per face as a plain tar, 8.4 KB gzipped; a 12,000-photo set is about 100 MB). The reader keeps a whole
set in memory (JPEG bytes in one array, decoded per sample: about 0.2 ms per 128 px face), since training samples
faces in random order. See docs/TRAINING.md for the measurements behind the JPEG quality.

This module holds the format and its reader; :mod:`unmask.train.data.shard_writer` writes sets. Reading
(:class:`FaceSet`) checks every shard's SHA-256 against the manifest first: a corrupted, truncated or
missing shard is a :class:`SetError` naming the file, and ``unmask prepare`` run again rewrites just those shards.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from unmask.errors import DataError
from unmask.train.data.prepare import PrepareError

FORMAT = "unmask-faces"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
POINTS = 478
SHARD_NAME = "faces-{:05d}.tar.gz"
_SHARD_RE = re.compile(r"faces-\d{5}\.tar\.gz")


class SetError(DataError, PrepareError):
    """A training set cannot be written or read as asked; the message is one line and names the file."""


# -- small helpers -----------------------------------------------------------------------------------------------
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of ``root`` if it is an unmask training set (finished or not), else ``None``."""
    try:
        m = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and m.get("format") == FORMAT else None


def set_root(path: str | os.PathLike) -> Path:
    """The set folder meant by ``path`` (the folder, or its ``manifest.json``)."""
    p = Path(path)
    return p.parent if p.name == MANIFEST and p.is_file() else p


def is_face_set(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` is a training set written by :func:`~unmask.train.data.shard_writer.write_set` (finished or not),
    a damaged one included (its ``manifest.json`` unreadable, or next to its shards), so that :class:`FaceSet` says
    what is wrong with it instead of the folder being taken for photos; a ``manifest.json`` of another tool among
    photos (valid JSON, not ours, no shards beside it) is not a set. Cheap: reads the manifest only."""
    if path is None:
        return False
    root = set_root(path)
    if not (root / MANIFEST).is_file():
        return False
    if _read_manifest(root) is not None:
        return True
    with contextlib.suppress(OSError):
        if any(_SHARD_RE.fullmatch(n) for n in os.listdir(root)):
            return True
    try:
        json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # damaged
    return False


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_entry(mpath: Path, k: int, entry: Any) -> dict[str, Any]:
    """Shard entry ``k`` of the manifest ``mpath``, checked (:class:`SetError`, one line, when garbled)."""
    where = f"{mpath}: shard entry {k}"
    if not isinstance(entry, dict):
        raise SetError(f"{where} is {type(entry).__name__} {_short(entry)}, not an object")
    name = entry.get("file")
    if not isinstance(name, str) or not _SHARD_RE.fullmatch(name):  # never a path out of the set
        raise SetError(f"{where}: shard file name {name!r} is not faces-NNNNN.tar.gz")
    span = entry.get("photos")
    checks = {"sha256": isinstance(entry.get("sha256"), str),
              "faces": _whole(entry.get("faces")) and entry["faces"] >= 0,
              "names": isinstance(entry.get("names"), list) and all(isinstance(n, str) for n in entry["names"]),
              "photos": isinstance(span, list) and len(span) == 2 and all(_whole(v) for v in span) and 0 <= span[0] <= span[1]}  # fmt: skip
    bad = [key for key, ok in checks.items() if not ok]
    if bad:
        raise SetError(f"{where} ({name}): {bad[0]} is missing or garbled ({_short(entry.get(bad[0]))})")
    return entry


def check_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of the set at ``path``, checked without reading a shard: the set format and its version (a whole
    number this unmask reads), the crop recipe (:data:`unmask.train.data.prepare.VERSION`: a set aligned by another
    recipe is refused, its crops would not match the faces unmask restores), finished, and every shard entry well
    formed and listed once. Any problem is a :class:`SetError` of one line naming the file."""
    from unmask.train.data.prepare import VERSION

    root = set_root(path)
    mpath = root / MANIFEST
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SetError(f"{root}: not a training set (no {MANIFEST}; make one with `unmask prepare PHOTOS -o "
                       f"{root}`)") from None  # fmt: skip
    except (OSError, ValueError) as e:
        raise SetError(f"{mpath}: unreadable manifest ({_line(e)}); run `unmask prepare PHOTOS -o {root}` again to "
                       "rewrite it") from None  # fmt: skip
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SetError(f"{mpath}: not the manifest of an unmask training set")
    version = manifest.get("format_version")
    if not _whole(version):
        raise SetError(f"{mpath}: format_version {_short(version)} is not a whole number")
    if version > FORMAT_VERSION:
        raise SetError(f"{mpath}: set format {version} is newer than this unmask reads ({FORMAT_VERSION}); upgrade "
                       "unmask")  # fmt: skip
    recipe = manifest.get("recipe_version")
    if recipe != VERSION:
        raise SetError(f"{mpath}: faces aligned by crop recipe {_short(recipe)}, not this unmask's recipe {VERSION}: "
                       f"its crops would not match the faces unmask restores; prepare the set again with this "
                       f"unmask (`unmask prepare PHOTOS -o NEW`)")  # fmt: skip
    if not manifest.get("complete"):
        shards = manifest.get("shards")
        raise SetError(f"{root}: preparation not finished ({len(shards) if isinstance(shards, list) else 0} shard(s) "
                       f"written); run `unmask prepare PHOTOS -o {root}` again to finish it")  # fmt: skip
    shards = manifest.get("shards")
    if not isinstance(shards, list) or not _whole(manifest.get("size")) or manifest["size"] < 1:
        raise SetError(f"{mpath}: manifest lacks or garbles {'shards' if not isinstance(shards, list) else 'size'}")
    seen: dict[str, int] = {}
    spans: list[tuple[int, int, str]] = []
    for k, entry in enumerate(shards):
        entry = _check_entry(mpath, k, entry)
        if entry["file"] in seen:
            raise SetError(f"{mpath}: shard {entry['file']} is listed twice (entries {seen[entry['file']]} and {k}); "
                           f"run `unmask prepare PHOTOS -o {root}` again to rewrite the manifest")  # fmt: skip
        seen[entry["file"]] = k
        spans.append((entry["photos"][0], entry["photos"][1], entry["file"]))
    spans.sort()
    for (_, a1, fa), (b0, b1, fb) in zip(spans, spans[1:]):
        if b0 < a1:
            raise SetError(f"{mpath}: shards {fa} and {fb} both hold photos {b0}..{min(a1, b1) - 1}: photos are "
                           f"listed twice; run `unmask prepare PHOTOS -o {root}` again to rewrite the manifest")  # fmt: skip
    return manifest


def decode_jpeg(data: np.ndarray | bytes) -> np.ndarray | None:
    """JPEG bytes -> HxWx3 uint8 RGB (``None`` when they do not decode)."""
    import cv2

    buf = np.frombuffer(data, np.uint8) if isinstance(data, (bytes, bytearray)) else data
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return None if bgr is None else np.ascontiguousarray(bgr[:, :, ::-1])


# -- reading -----------------------------------------------------------------------------------------------------
class FaceSet:
    """A training set in memory, read-only, with :class:`unmask.train.data.prepare.CropStore`'s interface:
    ``len(s)`` faces; ``s.crop(i)`` (``size x size x 3`` uint8 RGB) and ``s.landmarks(i)`` (478x2 float32, crop
    px); ``s.names`` (the photo of each face), ``s.failed`` (``(name, reason)`` of the unusable photos), ``s.total``
    (photos) and ``s.count`` (faces).

    ``size``: the crop side to serve (default: the set's). A smaller one is served by area-averaging each crop
    down (landmarks scaled to match, pixel centres aligned as ``cv2.resize`` aligns them), so one 128 px set also
    feeds the 32 and 64 px presets; a larger one is a :class:`SetError` (prepare a set at that size).

    Opening reads every shard and checks its SHA-256 against the manifest: any corrupted, truncated or missing
    shard, or a manifest that does not describe its shards, is a :class:`SetError` naming the file.
    """

    def __init__(self, path: str | os.PathLike, size: int | None = None) -> None:
        root = set_root(path)
        mpath = root / MANIFEST
        manifest = check_manifest(root)
        try:
            self.stored_size = int(manifest["size"])
            shards = list(manifest["shards"])
            unusable = [(str(n), str(r)) for n, r in manifest.get("unusable", [])]
            photos = int(manifest.get("photos", 0))
        except (KeyError, TypeError, ValueError) as e:
            raise SetError(f"{mpath}: manifest lacks or garbles {_line(e)}") from None
        self.size = self.stored_size if size is None else int(size)
        if self.size > self.stored_size:
            raise SetError(f"{root}: holds {self.stored_size} px crops, {self.size} px are needed (prepare a set "
                           f"with --size {self.size})")  # fmt: skip
        self.root = root
        self.manifest = manifest
        self.failed: tuple[tuple[str, str], ...] = tuple(unusable)
        self.total = photos
        self.names: list[str] = []
        jpegs: list[bytes] = []
        lms: list[np.ndarray] = []
        for entry in shards:
            names, sj, sl = self._read_shard(entry)
            self.names += names
            jpegs += sj
            lms += sl
        self.count = len(self.names)
        if self.count == 0:
            raise SetError(f"{root}: holds no face")
        lengths = np.fromiter((len(j) for j in jpegs), np.int64, len(jpegs))
        self._offsets = np.concatenate([[0], np.cumsum(lengths)])
        self._jpeg = np.frombuffer(b"".join(jpegs), np.uint8)  # one buffer: no per-face objects to copy on fork
        self._lms = np.stack(lms).astype(np.float16)

    def _read_shard(self, entry: dict[str, Any]) -> tuple[list[str], list[bytes], list[np.ndarray]]:
        name = entry["file"]  # checked by check_manifest: faces-NNNNN.tar.gz, never a path out of the set
        path = self.root / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SetError(f"{path}: shard missing (run `unmask prepare PHOTOS -o {self.root}` again to rewrite "
                           "it)") from None  # fmt: skip
        except OSError as e:
            raise SetError(f"{path}: cannot read shard ({e.strerror or e})") from None
        if _sha256(data) != entry.get("sha256"):
            raise SetError(f"{path}: checksum mismatch, the shard is corrupted or was changed (run `unmask prepare "
                           f"PHOTOS -o {self.root}` again to rewrite it)")  # fmt: skip
        parts: dict[str, dict[str, bytes]] = {}
        try:
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
                for m in tar:
                    if not m.isfile():
                        continue
                    key, dot, ext = m.name.partition(".")
                    f = tar.extractfile(m)
                    if dot and f is not None and ext in ("jpg", "lm.npy"):
                        parts.setdefault(key, {})[ext] = f.read()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise SetError(f"{path}: unreadable shard ({_line(e)})") from None
        names = [str(n) for n in entry.get("names", [])]
        if len(parts) != int(entry.get("faces", -1)) or len(names) != len(parts):
            raise SetError(f"{path}: holds {len(parts)} faces, the manifest lists {entry.get('faces')}")
        jpegs, lms = [], []
        for key in sorted(parts):
            item = parts[key]
            if "jpg" not in item or "lm.npy" not in item:
                raise SetError(f"{path}: face {key} lacks its {'crop' if 'jpg' not in item else 'landmarks'}")
            try:
                lm = np.load(io.BytesIO(item["lm.npy"]), allow_pickle=False)
            except (ValueError, OSError, EOFError) as e:
                raise SetError(f"{path}: landmarks of face {key} do not load ({_line(e)})") from None
            if lm.shape != (POINTS, 2) or not np.isfinite(lm).all():
                raise SetError(f"{path}: landmarks of face {key} are {lm.shape}, not {POINTS}x2 finite values")
            jpegs.append(item["jpg"])
            lms.append(lm)
        return names, jpegs, lms

    def __len__(self) -> int:
        return self.count

    def crop(self, i: int) -> np.ndarray:
        j = self._jpeg[self._offsets[i] : self._offsets[i + 1]]
        rgb = decode_jpeg(j)
        if rgb is None or rgb.shape != (self.stored_size, self.stored_size, 3):
            raise SetError(f"{self.root}: crop of face {i} ({self.names[i]}) does not decode to "
                           f"{self.stored_size}x{self.stored_size} RGB")  # fmt: skip
        if self.size != self.stored_size:
            import cv2

            rgb = cv2.resize(rgb, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return rgb

    def landmarks(self, i: int) -> np.ndarray:
        lm = self._lms[i].astype(np.float32)
        if self.size != self.stored_size:
            k = self.size / self.stored_size
            lm = (lm + 0.5) * k - 0.5
        return lm

    def __repr__(self) -> str:
        return f"FaceSet({str(self.root)!r}, {self.count} faces, {self.size} px)"


def _short(value: Any) -> str:
    """``value`` as a short repr for a one-line message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return (lines[0] if lines else type(e).__name__)[:200]
