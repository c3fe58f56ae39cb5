"""What an interrupted ``unmask eval`` leaves for its rerun: the scores of every photo looked at so far, in a
journal keyed by everything that determines the result. Never prints; ``unmask eval`` says "resumed".

The journal (:class:`Journal`) is a JSON-lines file under ``$UNMASK_CACHE/eval`` (else ``runs/cache/eval``,
:func:`unmask.train.data.prepare.cache_root`) named by :func:`state_key` of the run: the data (folder, and the
name, size and modification time of each photo, or a training set's manifest), each method (a model's file
SHA-256, a baseline's name and size), the settings (:class:`unmask.measure.scores.EvalSettings`), LPIPS and its
weight files, device, threads and unmask's version. A rerun with any of these changed has another key and starts
afresh; the same command finds the journal and skips every photo in it.

Its first line names the key; each further line is one photo (:class:`EvalState`): its place in the list, its
outcome (``scored``, ``unreadable``, ``no_face``, ``lost``), every method's :class:`FaceScore` in full (the pooled
features KID needs included, as exact float32 bytes) and, for the first ``grid_faces`` scored faces, the grid's
aligned crops, so the report rebuilt from it is the one an uninterrupted run gives (the same numbers, the same
order). Lines are appended whole and flushed after each photo; a torn last line (a crash mid-write) is dropped when
the journal is read, and the file rewritten atomically without it. The journal is removed once the run's
result is out (:meth:`Journal.remove`).

:class:`UnitState` keeps a run's finished units whole, by name, in the same kind of journal, for work that cannot be
cut finer: ``unmask eval CLIP`` scores a clip in passes (:data:`unmask.measure.flicker.PASSES`), and every frame of a
pass depends on the frames before it (tracking, smoothing, blending), so a pass stopped halfway is scored afresh.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from unmask.infer.io.jsonl import append_lines, read_lines, write_lines
from unmask.measure.scores import EvalReport, EvalSettings, FaceScore, GridFace
from unmask.spec import VERSION

STATE_VERSION = 1
"""Version of the journal's layout; part of every key."""

OUTCOMES = ("scored", "unreadable", "no_face", "lost")
"""What became of one photo; the last three are counted in the report (``EvalReport.unreadable`` ...)."""


def state_dir(kind: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """The folder of ``kind``'s journals (``eval``): ``cache``, else ``$UNMASK_CACHE``, else ``runs/cache``,
    then ``kind``."""
    from unmask.train.data.prepare import cache_root

    return cache_root(cache) / kind


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def photo_identities(paths: Iterable[str | os.PathLike[str]]) -> list[list[Any]]:
    """``[name, size, modification ns]`` of each file: a photo replaced under the same name changes it."""
    out = []
    for p in paths:
        st = os.stat(p)
        out.append([Path(p).name, st.st_size, st.st_mtime_ns])
    return out


def method_identity(method: Any) -> dict[str, Any]:
    """What makes a method give the scores it gives: a model's file SHA-256, else (a baseline) its name and size."""
    path = getattr(method, "path", None)
    ident: dict[str, Any] = {"name": getattr(method, "name", ""), "size": int(getattr(method, "size", 0) or 0)}
    if path is not None:
        ident["sha256"] = file_digest(path)
    return ident


def state_key(parts: Mapping[str, Any]) -> str:
    """A short hash of ``parts`` (JSON-able), the layout version and unmask's version."""
    blob = json.dumps({"parts": parts, "layout": STATE_VERSION, "unmask": VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


# -- the journal -----------------------------------------------------------------------------------------------------
class Journal:
    """Append-only JSON lines at ``path``: a header ``{"journal": key}`` then one object per :meth:`append`.
    ``records``: what was there when opened, a torn or unreadable line dropped (and the file rewritten without
    it); a header of another key (a hash collision, a hand-copied file) counts as no journal."""

    def __init__(self, path: str | os.PathLike[str], key: str) -> None:
        self.path = Path(path)
        self.key = key
        self.records: list[dict[str, Any]] = self._read()

    def _read(self) -> list[dict[str, Any]]:
        try:
            parsed, tail = read_lines(self.path)  # tail: empty, or a line torn before its newline
        except OSError:  # none yet, or none can be there (the cache is not a folder): nothing to resume
            return []
        if not parsed or parsed[0] != {"journal": self.key}:
            self.remove()
            return []
        records = [r for r in parsed[1:] if r is not None]
        if tail or len(records) != len(parsed) - 1:
            with contextlib.suppress(OSError):  # not writable: appending will say so
                self._rewrite(records)
        return records

    def _rewrite(self, records: list[dict[str, Any]]) -> None:
        write_lines(self.path, [{"journal": self.key}, *records])

    def append(self, record: Mapping[str, Any]) -> None:
        """Adds ``record`` as one whole line, flushed (the header first when the file is new)."""
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._rewrite([])
        append_lines(self.path, [record])
        self.records.append(dict(record))

    def remove(self) -> None:
        """Deletes the journal (the run it belonged to has given its result); one that cannot be deleted stays (the
        same command then replays it whole, to the same result)."""
        with contextlib.suppress(OSError):
            self.path.unlink()


# -- arrays and scores as JSON ---------------------------------------------------------------------------------------
def pack_array(a: np.ndarray) -> dict[str, Any]:
    """``a`` as JSON: dtype, shape and its bytes (zlib, base64); :func:`unpack_array` gives it back exactly."""
    a = np.ascontiguousarray(a)
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": base64.b64encode(zlib.compress(a.tobytes())).decode()}


def unpack_array(d: Mapping[str, Any]) -> np.ndarray:
    raw = zlib.decompress(base64.b64decode(d["data"]))
    return np.frombuffer(raw, dtype=np.dtype(d["dtype"])).reshape(d["shape"]).copy()


_ARRAYS = ("features", "truth_features")


def pack_score(s: FaceScore) -> dict[str, Any]:
    """Every field of ``s``, floats exact (JSON keeps a double's every bit), the feature arrays packed."""
    d: dict[str, Any] = {}
    for f in dataclasses.fields(FaceScore):
        v = getattr(s, f.name)
        if f.name in _ARRAYS:
            d[f.name] = None if v is None else pack_array(v)
        elif isinstance(v, np.generic):  # its numpy type kept: later sums and quantiles run as they did
            d[f.name] = {"scalar": v.dtype.str, "value": v.item()}
        else:
            d[f.name] = v
    return d


def unpack_score(d: Mapping[str, Any]) -> FaceScore:
    def value(k: str, v: Any) -> Any:
        if isinstance(v, dict):
            return unpack_array(v) if k in _ARRAYS else np.dtype(v["scalar"]).type(v["value"])
        return v

    return FaceScore(**{k: value(k, v) for k, v in d.items()})


def pack_grid(g: GridFace) -> dict[str, Any]:
    return {
        "photo": g.photo,
        "censored": pack_array(g.censored),
        "results": {k: pack_array(v) for k, v in g.results.items()},
        "original": pack_array(g.original),
    }


def unpack_grid(d: Mapping[str, Any]) -> GridFace:
    return GridFace(
        d["photo"],
        unpack_array(d["censored"]),
        {k: unpack_array(v) for k, v in d["results"].items()},
        unpack_array(d["original"]),
    )


Mark = tuple[tuple[int, ...], int, int]
"""A report's counts (of :data:`OUTCOMES`), scores and grid faces at one moment (:func:`report_mark`)."""


def report_mark(report: EvalReport) -> Mark:
    """Where ``report`` stands before a photo: :meth:`EvalState.add` records what the photo added after it."""
    return tuple(getattr(report, o) for o in OUTCOMES), len(report.faces), len(report.grid)


class _Journalled:
    """What a run's state in its :class:`Journal` does whatever it keeps: records whole lines, says why it cannot
    (the run goes on without it), and is removed once the run's result is out."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.error: str | None = None
        """Why the journal could not be written (the run goes on without it: an interrupt then loses its work)."""

    def _append(self, record: Mapping[str, Any]) -> None:
        if self.error is None:
            try:
                self.journal.append(record)
            except OSError as e:
                self.error = f"{self.journal.path}: {e.strerror or e}"

    def check(self) -> str | None:
        """Why the journal cannot be written here (its folder cannot be made or written to), else None."""
        folder = self.journal.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            return f"{folder}: {e.strerror or e}"
        return None if os.access(folder, os.W_OK) else f"{folder}: not writable"

    def remove(self) -> None:
        self.journal.remove()


class EvalState(_Journalled):
    """The photos of an ``unmask eval`` run already looked at, in its :class:`Journal`: ``done`` maps a photo's
    place in the list to its record. :meth:`replay` puts a done photo back into a report; :meth:`add` records a
    photo just looked at."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(journal)
        self.done: dict[int, dict[str, Any]] = {}
        for r in journal.records:
            if isinstance(r.get("i"), int) and r.get("outcome") in OUTCOMES:
                self.done[r["i"]] = r

    @classmethod
    def open(cls, key: str, cache: str | os.PathLike[str] | None = None) -> EvalState:
        """The state of the run keyed ``key`` (:func:`state_key`), empty when there is none."""
        return cls(Journal(state_dir("eval", cache) / f"{key}.jsonl", key))

    @property
    def scored(self) -> int:
        """Faces scored so far."""
        return sum(r["outcome"] == "scored" for r in self.done.values())

    def replay(self, index: int, report: EvalReport) -> bool:
        """Adds photo ``index``'s recorded outcome to ``report`` (counts, scores, its grid face); False when it
        was not done."""
        r = self.done.get(index)
        if r is None:
            return False
        report.photos += 1
        if r["outcome"] == "scored":
            report.faces.extend(unpack_score(s) for s in r["faces"])
            if r.get("grid") is not None:
                report.grid.append(unpack_grid(r["grid"]))
            report.scored += 1
        else:
            setattr(report, r["outcome"], getattr(report, r["outcome"]) + 1)
        return True

    def add(self, index: int, photo: str, report: EvalReport, mark: Mark) -> None:
        """Records photo ``index`` (named ``photo``) as what it added to ``report`` since :func:`report_mark`
        gave ``mark``: its outcome (the count that grew), its scores and its grid face, if any."""
        counts, n_faces, n_grid = mark
        outcome = next(o for o, c in zip(OUTCOMES, counts) if getattr(report, o) > c)
        record = {
            "i": index,
            "photo": photo,
            "outcome": outcome,
            "faces": [pack_score(s) for s in report.faces[n_faces:]],
            "grid": pack_grid(report.grid[n_grid]) if len(report.grid) > n_grid else None,
        }
        self._append(record)
        self.done[index] = record


class UnitState(_Journalled):
    """The finished units of a run (a pass over a clip), in its :class:`Journal`: ``done`` maps a unit's name to the
    record :meth:`add` kept, in the order they finished. A unit stopped halfway left nothing: the rerun does it
    again whole."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(journal)
        self.done: dict[str, dict[str, Any]] = {}
        for r in journal.records:
            if isinstance(r.get("unit"), str) and isinstance(r.get("record"), dict):
                self.done[r["unit"]] = r["record"]

    @classmethod
    def open(cls, kind: str, key: str, cache: str | os.PathLike[str] | None = None) -> UnitState:
        """The state of ``kind``'s run keyed ``key`` (:func:`state_key`), empty when there is none."""
        return cls(Journal(state_dir(kind, cache) / f"{key}.jsonl", key))

    def add(self, unit: str, record: Mapping[str, Any]) -> None:
        """Keeps ``record`` (JSON-able) as finished unit ``unit``'s."""
        self._append({"unit": unit, "record": record})
        self.done[unit] = dict(record)


def eval_state_key(
    data: str | os.PathLike[str],
    methods: Mapping[str, Any],
    kinds: Mapping[str, str],
    settings: EvalSettings,
    items: Any,
    lpips_files: Iterable[str | os.PathLike[str]] | None,
    **extra: Any,
) -> str:
    """The key of an ``unmask eval`` run (:func:`state_key`): the ``data`` folder and its ``items`` (the photos'
    :func:`photo_identities`, or a training set's names and manifest digest), every method's
    :func:`method_identity` and kind in order, the settings, the LPIPS weight files (None: LPIPS off) and
    ``extra`` (device, threads)."""
    return state_key(
        {
            "data": str(Path(data).resolve()),
            "items": items,
            "methods": [[name, kinds.get(name, ""), method_identity(m)] for name, m in methods.items()],
            "settings": dataclasses.asdict(settings),
            "lpips": None if lpips_files is None else [file_digest(p) for p in lpips_files],
            "extra": extra,
        }
    )
