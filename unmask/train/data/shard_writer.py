"""Writing a portable training set (``unmask prepare PHOTOS -o SET``): :func:`write_set` crops and aligns the
largest face of every photo (the recipe of :mod:`unmask.train.data.prepare`) into the checksummed tar shards and
manifest that :mod:`unmask.train.data.shards` describes and reads. Deterministic (the same photos and settings give
byte-identical shards) and resumable: each shard is written atomically and recorded in the manifest as it
completes, and a shard that is missing or fails its checksum is written again."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from unmask.train.data.prepare import (
    VERSION,
    Cropper,
    FaceCropper,
    PrepareError,
    Progress,
    cropped_shards,
    list_photos,
)
from unmask.train.data.shards import (
    _SHARD_RE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    POINTS,
    SHARD_NAME,
    SetError,
    _read_manifest,
    _sha256,
)

DEFAULT_SIZE = 128
DEFAULT_QUALITY = 92
SHARD_SIZE = 1000
_KEY_DIGITS = 7


@dataclass(frozen=True)
class SetSummary:
    """What :func:`write_set` left in ``root``. ``resumed``: shards kept from an earlier run; ``written``: shards
    written by this call; ``failed``: ``(photo name, reason)`` of the photos without a usable face."""

    root: Path
    size: int
    photos: int
    faces: int
    failed: tuple[tuple[str, str], ...]
    shards: int
    bytes: int
    written: int
    resumed: int


def source_key(photos: list[Path], size: int, quality: int, shard_size: int) -> str:
    """SHA-256 over the settings and the photos' names and sizes (no paths): a set continues only from the same."""
    h = hashlib.sha256()
    h.update(json.dumps({"size": size, "quality": quality, "shard_size": shard_size, "recipe": VERSION,
                         "format": FORMAT_VERSION}, sort_keys=True).encode())  # fmt: skip
    for p in photos:
        h.update(f"{p.name}\0{p.stat().st_size}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def encode_jpeg(crop: np.ndarray, quality: int = DEFAULT_QUALITY) -> bytes:
    """SxSx3 uint8 RGB -> baseline JPEG bytes (4:4:4 chroma, optimised Huffman tables)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(crop), "RGB").save(buf, "JPEG", quality=int(quality), subsampling=0,
                                                            optimize=True)  # fmt: skip
    return buf.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def build_shard(samples: list[tuple[str, bytes, np.ndarray]]) -> bytes:
    """``(key, jpeg, landmarks)`` per face -> the bytes of a gzip-compressed tar shard (deterministic)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key, jpeg, lm in samples:
            for name, data in ((f"{key}.jpg", jpeg), (f"{key}.lm.npy", _npy_bytes(lm.astype(np.float16)))):
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def _write(path: Path, data: bytes) -> None:
    from unmask.infer.io.atomic import write_atomic

    try:
        write_atomic(path, data)
    except OSError as e:
        raise SetError(f"{path}: cannot write ({e.strerror or e})") from None


def _write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    _write(root / MANIFEST, (json.dumps(manifest, indent=1, ensure_ascii=True) + "\n").encode("ascii"))


def _check_out_folder(out: Path) -> None:
    """``out`` must be new, empty, or a set (a typo must not fill a folder of other files with shards)."""
    if out.exists() and not out.is_dir():
        raise SetError(f"{out}: exists and is not a folder")
    if not out.is_dir() or (out / MANIFEST).exists():
        return
    others = [n for n in os.listdir(out) if not (_SHARD_RE.fullmatch(n) or n.startswith(".faces-")
                                                  or n.startswith(f".{MANIFEST}."))]  # fmt: skip
    if others:
        raise SetError(f"{out}: folder is not empty and holds no training set ({others[0]!r} ...); choose a new -o")


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    diffs = [f"{k} {old.get(k)} -> {new.get(k)}" for k in ("size", "shard_size") if old.get(k) != new.get(k)]
    q_old, q_new = (old.get("image") or {}).get("quality"), new["image"]["quality"]
    if q_old != q_new:
        diffs.append(f"quality {q_old} -> {q_new}")
    if old.get("recipe_version") != VERSION:
        diffs.append(f"crop recipe {old.get('recipe_version')} -> {VERSION}")
    if not diffs:
        diffs.append(f"other photos ({(old.get('source') or {}).get('photos')} -> {new['source']['photos']})")
    return ", ".join(diffs)


def _shard_of(entry: Any, shard_size: int, photos: int) -> int | None:
    """The shard index an earlier manifest's ``entry`` records, or ``None`` when the entry is garbled (not an
    object, odd types, a photo range or file name that is not that shard's): such a shard is written again."""
    if not isinstance(entry, dict):
        return None
    span, faces, names = entry.get("photos"), entry.get("faces"), entry.get("names")
    if not (isinstance(span, list) and len(span) == 2 and all(type(v) is int for v in span)):
        return None
    i = span[0] // shard_size
    ok = (span == [i * shard_size, min((i + 1) * shard_size, photos)] and entry.get("file") == SHARD_NAME.format(i)
          and type(faces) is int and isinstance(names, list) and len(names) == faces
          and isinstance(entry.get("unusable"), list) and type(entry.get("bytes")) is int)  # fmt: skip
    return i if ok else None


# -- writing -----------------------------------------------------------------------------------------------------
def write_set(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    *,
    size: int = DEFAULT_SIZE,
    quality: int = DEFAULT_QUALITY,
    shard_size: int = SHARD_SIZE,
    limit: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    cropper: Callable[[int], Cropper] = FaceCropper,
) -> SetSummary:
    """Writes (or finishes) the training set of the photos in ``folder`` into ``out``; see the module doc.

    ``limit``: only the first ``limit`` photos by name. ``workers`` > 1 crops in a pool of processes.
    ``cropper(size)`` makes the photo -> crop function (default: detect and align with :mod:`unmask.infer.face`).
    Each shard is written atomically and recorded in the manifest as it completes, so an interrupted call
    resumes at the first shard not written; a shard that is missing or fails its checksum is written again.
    Raises :class:`SetError` (``out`` holds another set, or other files) and :class:`PrepareError` (no photos,
    no usable face, no face detector).
    """
    from unmask.infer.io.atomic import remove_stale_temps

    folder, out = Path(folder), Path(out)
    if not 8 <= int(size) <= 4096:
        raise SetError(f"crop size must be 8..4096 px (got {size})")
    if not 1 <= int(quality) <= 100:
        raise SetError(f"JPEG quality must be 1..100 (got {quality})")
    if int(shard_size) < 1:
        raise SetError(f"shard size must be >= 1 (got {shard_size})")
    photos = list_photos(folder)
    if limit is not None:
        photos = photos[: max(0, int(limit))]
    if not photos:
        raise PrepareError(f"{folder}: no photos")
    if len(photos) >= 10**_KEY_DIGITS:
        raise SetError(f"{folder}: {len(photos)} photos; a set holds at most {10**_KEY_DIGITS - 1}")
    _check_out_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    n_shards = (len(photos) + shard_size - 1) // shard_size
    remove_stale_temps([out / MANIFEST, *(out / SHARD_NAME.format(i) for i in range(n_shards))])

    fresh: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "recipe_version": VERSION,
        "complete": False,
        "size": int(size),
        "image": {"codec": "jpeg", "quality": int(quality), "subsampling": "4:4:4", "channels": "RGB"},
        "landmarks": {"points": POINTS, "dtype": "float16", "units": "crop pixels"},
        "source": {
            "folder": folder.resolve().name,
            "photos": len(photos),
            "key": source_key(photos, size, quality, shard_size),
        },  # fmt: skip
        "shard_size": int(shard_size),
        "photos": len(photos),
        "faces": 0,
        "unusable": [],
        "shards": [],
    }
    old = _read_manifest(out)
    if old is not None and (old.get("source") or {}).get("key") != fresh["source"]["key"]:
        raise SetError(f"{out}: holds a set made with other photos or settings ({_differences(old, fresh)}); "
                       "choose another -o or delete it")  # fmt: skip
    manifest = fresh  # an earlier run's manifest gives only its intact shards: it is written anew when it differs

    # shards kept from an earlier run: present, intact and listed once, in a well-formed entry
    kept: dict[int, dict[str, Any]] = {}
    listed = old.get("shards") if old is not None else []
    for entry in listed if isinstance(listed, list) else []:
        i = _shard_of(entry, shard_size, len(photos))
        if i is None or i in kept:
            continue
        try:
            data = (out / SHARD_NAME.format(i)).read_bytes()
        except OSError:
            continue
        if _sha256(data) == entry.get("sha256"):
            kept[i] = entry
    todo = [i for i in range(n_shards) if i not in kept]
    stale = (
        old is None
        or not old.get("complete")
        or listed != [kept[k] for k in sorted(kept)]
        or any(old.get(k) != fresh[k] for k in ("format_version", "recipe_version", "size", "shard_size", "photos"))
    )
    total = len(photos)

    def counts() -> tuple[int, int]:
        done = sum(e["photos"][1] - e["photos"][0] for e in kept.values())
        return done, sum(len(e["unusable"]) for e in kept.values())

    def record(complete: bool) -> None:
        manifest["shards"] = [kept[k] for k in sorted(kept)]
        manifest["faces"] = sum(e["faces"] for e in manifest["shards"])
        manifest["unusable"] = [u for e in manifest["shards"] for u in e["unusable"]]
        manifest["complete"] = complete
        manifest["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _write_manifest(out, manifest)

    done, failed = counts()
    if progress is not None:
        progress(done, total, failed)
    written = 0

    def tick(usable: int, unusable: int) -> None:
        if progress is not None:
            progress(done + usable + unusable, total, failed + unusable)

    with contextlib.closing(cropped_shards(folder, photos, todo, shard_size, cropper, size, workers, tick)) as shards:
        for i, start, end, usable, bad in shards:
            samples: list[tuple[str, bytes, np.ndarray]] = []
            for k, p, crop, lm in usable:
                if lm.shape != (POINTS, 2) or not np.isfinite(lm).all() or np.abs(lm).max() > 60000:
                    raise PrepareError(f"cropper returned landmarks {lm.shape} out of range for {p.name}")
                samples.append((f"{k:0{_KEY_DIGITS}d}", encode_jpeg(crop, quality), lm))
            data = build_shard(samples)
            _write(out / SHARD_NAME.format(i), data)
            kept[i] = {"file": SHARD_NAME.format(i), "sha256": _sha256(data), "bytes": len(data),
                       "faces": len(usable), "photos": [start, end], "names": [p.name for _, p, _, _ in usable],
                       "unusable": bad}  # fmt: skip
            written += 1
            record(complete=False)
            done, failed = counts()
    if written or stale:  # a manifest with shards listed twice or garbled entries is rewritten, not called complete
        record(complete=True)
    else:
        manifest = old  # complete, and what this call would have written
    shards = manifest["shards"]
    summary = SetSummary(
        root=out, size=int(size), photos=total, faces=int(manifest["faces"]),
        failed=tuple((n, r) for n, r in manifest["unusable"]), shards=len(shards),
        bytes=sum(int(e["bytes"]) for e in shards), written=written, resumed=len(shards) - written,
    )  # fmt: skip
    if summary.faces == 0:
        n, r = summary.failed[0]
        raise PrepareError(f"{folder}: no usable face in {total} photo(s) (e.g. {n}: {r})")
    return summary
