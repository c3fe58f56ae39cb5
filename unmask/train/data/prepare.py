"""Photo folder -> cached aligned face crops and landmarks, for training and validation. Torch-free.

A one-off pass: every photo (sorted by name) is read with :func:`unmask.infer.io.read_image` (as inference reads
photos), its largest face is found with :class:`unmask.infer.face.detect.
FaceFinder`, aligned to the canonical ``size x size`` crop with :func:`unmask.infer.crop.align` (``region=None``:
all landmarks fit, there is no censor on a training photo) and stored. The cache is a folder

``CACHE/<folder name>-<size>-<key>/``: ``manifest.json``, ``crops_00000.npy`` (``N x S x S x 3`` uint8 RGB),
``landmarks_00000.npy`` (``N x 478 x 2`` float32, crop pixels), ...

keyed by the folder's absolute path, its file names and sizes, the crop size and :data:`VERSION` (bump it when
the crops change meaning), so a changed folder or code gets a fresh cache. Shards are written atomically and
listed in the manifest as they complete: an interrupted pass resumes at the first missing shard. Photos without
a usable face are counted and listed (with the reason) in the manifest.

The cache is for this machine (its key holds the folder's absolute path). For a set that trains anywhere, without
mediapipe, see :mod:`unmask.train.data.shards` (``unmask prepare PHOTOS -o SET``), which crops with the same recipe.

The library never prints: pass ``progress(done, total, failed)`` to follow it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing as mp
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from unmask.infer.io.atomic import atomic_file, write_atomic
from unmask.infer.io.read import EXTENSIONS
from unmask.errors import JobFailed, UsageError

VERSION = 1
"""Version of the crop recipe; part of the cache key."""

ENV_CACHE = "UNMASK_CACHE"
DEFAULT_CACHE = Path("runs") / "cache"
SHARD_SIZE = 1000
MANIFEST = "manifest.json"

Progress = Callable[[int, int, int], None]
"""``progress(done, total, failed)``: photos handled so far (this call and earlier runs), of ``total``."""


class PrepareError(JobFailed, RuntimeError):
    """The folder cannot be prepared (missing, empty, or no usable face at all)."""


class DetectorMissing(UsageError, PrepareError):
    """Faces must be found in photos, and mediapipe (the face detector) cannot be imported here."""


MEDIAPIPE = "mediapipe 0.10.21"
MEDIAPIPE_PYTHONS = "3.9-3.12"
"""The Python versions for which :data:`MEDIAPIPE` publishes wheels (none for 3.13 and later)."""


def detector_missing(what: str = "finding faces in photos", why: str = "") -> str:
    """One line: ``what`` needs mediapipe, which only has wheels for :data:`MEDIAPIPE_PYTHONS`; what to do instead
    (install it, or prepare a training set where it installs and train from that)."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if sys.version_info[:2] > (3, 12):
        return (f"{what} needs {MEDIAPIPE}, which has wheels for Python {MEDIAPIPE_PYTHONS} only (this is Python "
                f"{here}): prepare the photos there with `unmask prepare PHOTOS -o SET`, then train and evaluate "
                "here from the set (`unmask train --data SET --val VALSET`, `unmask eval SET`; no mediapipe "
                "needed)")  # fmt: skip
    return (f"{what} needs {MEDIAPIPE} (wheels for Python {MEDIAPIPE_PYTHONS}), which cannot be imported here"
            f"{f' ({why})' if why else ''}: pip install '{MEDIAPIPE.replace(' ', '==')}', or train from a set prepared "
            "elsewhere with `unmask prepare PHOTOS -o SET` (`unmask train --data SET`, `unmask eval SET`; no mediapipe "
            "needed)")  # fmt: skip


def require_detector(folder: str | os.PathLike | None = None) -> None:
    """Raises :class:`DetectorMissing` (one line, naming ``folder``) when mediapipe cannot be found: before a pool
    of workers is started that would each fail to load it."""
    import importlib.util

    try:
        found = importlib.util.find_spec("mediapipe") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise DetectorMissing((f"{folder}: " if folder is not None else "") + detector_missing())


@dataclass(frozen=True)
class Prepared:
    """A finished cache. ``root``: its folder; ``count``: usable crops; ``failed``: (photo name, reason)."""

    root: Path
    folder: Path
    size: int
    count: int
    total: int
    failed: tuple[tuple[str, str], ...]


# -- listing and keys --------------------------------------------------------------------------------------------
def list_photos(folder: str | os.PathLike) -> list[Path]:
    """Image files (extensions of :data:`unmask.infer.io.EXTENSIONS`, not hidden) directly in ``folder``, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PrepareError(f"{folder}: not a folder of photos")
    return sorted(
        p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and not p.name.startswith(".") and p.is_file()
    )


def cache_root(cache: str | os.PathLike | None = None) -> Path:
    """``cache``, else ``$UNMASK_CACHE``, else ``runs/cache``."""
    return Path(cache or os.environ.get(ENV_CACHE) or DEFAULT_CACHE)


def cache_key(folder: Path, photos: Sequence[Path], size: int) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"folder": str(folder.resolve()), "size": int(size), "version": VERSION}).encode())
    for p in photos:
        h.update(f"{p.name}\0{p.stat().st_size}\n".encode())
    return h.hexdigest()[:16]


# -- cropping one photo ----------------------------------------------------------------------------------------
class FaceCropper:
    """Detects the largest face of a photo and aligns it to a ``size x size`` crop. One per process."""

    def __init__(self, size: int) -> None:
        from unmask.infer.face.detect import FaceFinder

        self.size = size
        try:
            self.finder = FaceFinder(max_faces=1)
        except ImportError as e:
            if (getattr(e, "name", None) or "").split(".")[0] != "mediapipe" and "mediapipe" not in str(e):
                raise
            raise DetectorMissing(detector_missing(why=str(e).splitlines()[0][:120] if str(e) else "")) from None

    def __call__(self, path: Path) -> tuple[np.ndarray, np.ndarray] | str:
        from unmask.infer.crop import align
        from unmask.infer.io.read import RAISE_LIMIT, ImageError, read_image

        try:
            rgb = read_image(path).rgb  # the reader of the inference path: EXIF orientation, modes, size guard
        except (ImageError, OSError, ValueError) as e:
            return f"unreadable ({str(e).replace(RAISE_LIMIT, '')})"  # prepare has no --max-pixels to raise
        found = self.finder.search(rgb)
        faces = found.faces
        if not faces:
            return "face too small" if found.too_small else "no face found"
        face = max(faces, key=lambda f: f.width * f.height)
        aligned = align(rgb, face, self.size, region=None)
        return aligned.crop, aligned.landmarks.astype(np.float32)

    def close(self) -> None:
        self.finder.close()


Cropper = Callable[[Path], "tuple[np.ndarray, np.ndarray] | str"]
"""Photo -> (crop SxSx3 uint8, landmarks 478x2 float32 in crop px), or the reason it is unusable."""
_worker_cropper: Cropper | None = None


def _init_worker(factory: Callable[[int], Cropper], size: int) -> None:
    global _worker_cropper
    import signal

    import cv2

    # Ctrl-C in a terminal reaches the whole process group: the parent alone handles it (it ends the pool), so a
    # worker neither dies with a traceback nor keeps the parent waiting
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)
    _worker_cropper = factory(size)


def _crop_in_worker(path: Path) -> tuple[np.ndarray, np.ndarray] | str:
    assert _worker_cropper is not None
    return _worker_cropper(path)


def _results(
    photos: Sequence[Path], factory: Callable[[int], Cropper], size: int, workers: int
) -> Iterator[tuple[np.ndarray, np.ndarray] | str]:
    if workers <= 1 or len(photos) < 2 * workers:
        cropper = factory(size)
        try:
            for p in photos:
                yield cropper(p)
        finally:
            close = getattr(cropper, "close", None)
            if close is not None:
                close()
        return
    # spawn: mediapipe's threads do not survive fork. Leaving early (Ctrl-C, SIGTERM, an error) terminates the
    # workers at once (Pool.__exit__), whatever they are doing: the shards written so far stay, a rerun resumes
    pool = mp.get_context("spawn").Pool(workers, initializer=_init_worker, initargs=(factory, size))
    try:
        yield from pool.imap(_crop_in_worker, photos, chunksize=8)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


Shard = tuple[int, int, int, list[tuple[int, Path, np.ndarray, np.ndarray]], list[list[str]]]
"""One cropped shard: (index, first photo, end photo, usable, unusable); usable: (photo index, photo, crop SxSx3
uint8, landmarks float32) per photo with a face; unusable: [name, reason] per photo without."""


def cropped_shards(
    folder: Path,
    photos: Sequence[Path],
    todo: Sequence[int],
    shard_size: int,
    cropper: Callable[[int], Cropper],
    size: int,
    workers: int,
    tick: Callable[[int, int], None] | None = None,
) -> Iterator[Shard]:
    """The shards ``todo`` (of ``shard_size`` photos each) of ``photos`` cropped by ``cropper(size)`` (in
    ``workers`` processes), one :data:`Shard` at a time, in order; ``tick(usable, unusable)`` after each photo
    with the counts of its shard so far. Raises :class:`PrepareError` for a crop of the wrong shape and, when the
    default face cropper is needed, :class:`DetectorMissing`. Close the iterator when leaving it early."""
    if not todo:
        return
    if cropper is FaceCropper:
        require_detector(folder)
    results = _results([p for i in todo for p in photos[i * shard_size : (i + 1) * shard_size]], cropper, size, workers)
    try:
        for i in todo:
            start, end = i * shard_size, min((i + 1) * shard_size, len(photos))
            usable: list[tuple[int, Path, np.ndarray, np.ndarray]] = []
            bad: list[list[str]] = []
            for k, p in enumerate(photos[start:end], start):
                r = next(results)
                if isinstance(r, str):
                    bad.append([p.name, r])
                else:
                    crop, lm = r
                    if crop.shape != (size, size, 3) or crop.dtype != np.uint8:
                        raise PrepareError(f"cropper returned {crop.shape} {crop.dtype} for {p.name}")
                    usable.append((k, p, crop, np.asarray(lm, np.float32)))
                if tick is not None:
                    tick(len(usable), len(bad))
            yield i, start, end, usable, bad
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


# -- the pass ----------------------------------------------------------------------------------------------------
def _write_npy(path: Path, array: np.ndarray) -> None:
    with atomic_file(path) as f:
        np.save(f, array)


def _write_json(path: Path, obj: object) -> None:
    write_atomic(path, json.dumps(obj, indent=1).encode("utf-8"))


def _read_manifest(root: Path) -> dict | None:
    try:
        return json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def prepare(
    folder: str | os.PathLike,
    size: int,
    cache: str | os.PathLike | None = None,
    *,
    limit: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    shard_size: int = SHARD_SIZE,
    cropper: Callable[[int], Cropper] = FaceCropper,
) -> Prepared:
    """Builds (or finds) the crop cache of ``folder`` at crop side ``size``; see the module doc.

    ``limit``: only the first ``limit`` photos by name. ``workers`` > 1 crops in a process pool (spawned;
    each worker loads its own FaceMesh). ``cropper(size)`` makes the per-process photo -> crop function (the
    default detects and aligns with :mod:`unmask.infer.face`). Raises :class:`PrepareError` for a missing or empty
    folder, or when no photo holds a usable face.
    """
    folder = Path(folder)
    photos = list_photos(folder)
    if limit is not None:
        photos = photos[: max(0, int(limit))]
    if not photos:
        raise PrepareError(f"{folder}: no photos")
    root = cache_root(cache) / f"{folder.resolve().name}-{size}-{cache_key(folder, photos, size)}"
    root.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(root) or {}
    if manifest.get("names") != [p.name for p in photos] or manifest.get("size") != size:
        manifest = {
            "version": VERSION,
            "folder": str(folder.resolve()),
            "size": size,
            "shard_size": shard_size,
            "names": [p.name for p in photos],
            "shards": [],
            "complete": False,
        }
    shard_size = int(manifest["shard_size"])
    done_shards = {s["index"]: s for s in manifest["shards"]}
    total = len(photos)

    def counts() -> tuple[int, int]:
        done = sum(s["end"] - s["start"] for s in done_shards.values())
        return done, sum(len(s["failed"]) for s in done_shards.values())

    done, failed = counts()
    if progress is not None:
        progress(done, total, failed)
    todo = [i for i in range((total + shard_size - 1) // shard_size) if i not in done_shards]

    def tick(usable: int, unusable: int) -> None:
        if progress is not None:
            progress(done + usable + unusable, total, failed + unusable)

    with contextlib.closing(cropped_shards(folder, photos, todo, shard_size, cropper, size, workers, tick)) as shards:
        for i, start, end, usable, bad in shards:
            names = [p.name for _, p, _, _ in usable]
            entry = {"index": i, "start": start, "end": end, "count": len(usable), "names": names, "failed": bad}
            if usable:
                _write_npy(root / f"crops_{i:05d}.npy", np.stack([c for _, _, c, _ in usable]))
                _write_npy(root / f"landmarks_{i:05d}.npy", np.stack([lm for _, _, _, lm in usable]))
            done_shards[i] = entry
            manifest["shards"] = [done_shards[k] for k in sorted(done_shards)]
            _write_json(root / MANIFEST, manifest)
            done, failed = counts()
    if not manifest.get("complete"):
        manifest["complete"] = True
        _write_json(root / MANIFEST, manifest)
    failures = tuple((n, r) for s in manifest["shards"] for n, r in s["failed"])
    count = sum(s["count"] for s in manifest["shards"])
    if count == 0:
        raise PrepareError(f"{folder}: no usable face in {total} photo(s) (e.g. {failures[0][0]}: {failures[0][1]})")
    return Prepared(root=root, folder=folder, size=size, count=count, total=total, failed=failures)


class CropStore:
    """Read-only view of a cache: ``len(store)`` crops; ``store.crop(i)`` (SxSx3 uint8) and
    ``store.landmarks(i)`` (478x2 float32, crop px) come from memory-mapped shards, so data-loader workers
    share the pages instead of copying them."""

    def __init__(self, root: str | os.PathLike) -> None:
        root = Path(root)
        manifest = _read_manifest(root)
        if not manifest or not manifest.get("complete"):
            raise PrepareError(f"{root}: not a finished crop cache (run the preparation first)")
        self.root = root
        self.size = int(manifest["size"])
        self.names: list[str] = []
        self._crops: list[np.ndarray] = []
        self._lms: list[np.ndarray] = []
        self._where: list[tuple[int, int]] = []
        for s in manifest["shards"]:
            if not s["count"]:
                continue
            k = len(self._crops)
            self._crops.append(np.load(root / f"crops_{s['index']:05d}.npy", mmap_mode="r"))
            self._lms.append(np.load(root / f"landmarks_{s['index']:05d}.npy", mmap_mode="r"))
            if len(self._crops[-1]) != s["count"]:
                raise PrepareError(
                    f"{root}: shard {s['index']} holds {len(self._crops[-1])} crops, manifest says {s['count']}"
                )
            self.names += s["names"]
            self._where += [(k, j) for j in range(s["count"])]

    def __len__(self) -> int:
        return len(self._where)

    def crop(self, i: int) -> np.ndarray:
        k, j = self._where[i]
        return np.array(self._crops[k][j])

    def landmarks(self, i: int) -> np.ndarray:
        k, j = self._where[i]
        return np.array(self._lms[k][j], dtype=np.float32)
