"""Inputs and outputs that are URLs of a file system pyarrow understands (``s3://bucket/photos``, ``gs://...``,
``abfs://...``, ``hdfs://...``, ``file:///abs/path``): listed by the driver (:func:`list_url`, :func:`url_exists`),
staged by the actors (:func:`staged`).

An actor copies a URL input into a temporary folder of its own node, runs the runner's own
:func:`~unmask.infer.runner.process` from and into local files, then uploads what it wrote: its extra images first,
its main output last (as the runner writes them), each under a hidden temporary name (``.NAME.PID.XXXXXXXX.tmp``)
that is then moved onto the final name, so a reader (or a rerun) never takes a half-uploaded file for an output.
The record names the URLs, not the temporary files. Local paths and shared file systems need none of this: the
actors read and write them directly.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from unmask.infer.inputs import Job, is_input_name, map_output
from unmask.infer.io.atomic import removed_on_error
from unmask.infer.runner import BatchOptions, Record, outputs

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")
COPY_BYTES = 8 * 1024**2
"""Chunk of a download or upload."""


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is a URL (``scheme://...``) rather than a local path (Windows drive letters are
    paths: a scheme has two characters or more)."""
    return bool(_SCHEME.match(str(location)))


def _fs(url: str):  # noqa: ANN202 - (pyarrow.fs.FileSystem, path)
    from pyarrow import fs

    return fs.FileSystem.from_uri(url)


def _join(url: str, rel: str) -> str:
    return url.rstrip("/") + "/" + rel


def list_url(source: str, out: str, recursive: bool, fmt: str | None) -> list[tuple[str, str]]:
    """``(input URL, output location)`` of every photo and video at ``source`` (one file, or a folder: its files
    sorted by name, subfolders too with ``recursive``; hidden names left out), the output named as a plain run
    names it (``a/b/c.jpg`` under ``source`` ``a`` -> ``OUT/b/c.jpg``, the extension mapped by ``fmt``).
    ``ValueError`` (one line) when ``source`` does not exist or holds nothing to restore."""
    from pyarrow import fs as pafs

    source = source if is_url(source) else os.path.abspath(source)  # pyarrow takes absolute local paths only
    filesystem, root = _fs(source)
    info = filesystem.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise ValueError(f"{source}: no such file or folder")
    if info.type == pafs.FileType.File:
        rels = [PurePosixPath(root).name]
        base = source[: len(source) - len(rels[0])].rstrip("/")
    else:
        found = filesystem.get_file_info(pafs.FileSelector(root, recursive=recursive))
        rels = sorted(PurePosixPath(f.path).relative_to(root).as_posix() for f in found
                      if f.type == pafs.FileType.File)  # fmt: skip
        base = source.rstrip("/")
    jobs = []
    for rel in rels:
        parts = rel.split("/")
        if any(p.startswith(".") for p in parts) or not is_input_name(parts[-1]):
            continue
        named = map_output(Path("unmask-url-root"), parts, fmt).relative_to("unmask-url-root").as_posix()
        jobs.append((_join(base, rel), _join(str(out), named) if is_url(out) else str(Path(out, named))))
    if not jobs:
        raise ValueError(f"{source}: no photos or videos found")
    return jobs


def _extras_of(output: str, options: BatchOptions, source: str) -> list[str]:
    """Every location ``output``'s job writes (extras, then the main output), as :func:`outputs` names them."""
    head, _, name = output.rpartition("/") if is_url(output) else (str(Path(output).parent), "/", Path(output).name)
    local = Job(Path(PurePosixPath(source).name), Path("unmask-url-root", name))
    return [_join(head, p.name) if is_url(output) else str(Path(head, p.name)) for p in outputs(local, options)]


def url_exists(output: str, options: BatchOptions, source: str) -> bool:
    """Whether every file the job writing ``output`` would write exists (its outputs exist: the job is done)."""
    from pyarrow import fs as pafs

    every = _extras_of(output, options, source)
    if not is_url(output):
        return all(os.path.exists(p) for p in every)
    filesystem, _ = _fs(output)
    paths = [_fs(p)[1] for p in every]
    return all(i.type == pafs.FileType.File for i in filesystem.get_file_info(paths))


def _download(url: str, folder: Path) -> Path:
    filesystem, path = _fs(url)
    folder.mkdir(parents=True, exist_ok=True)
    local = folder / PurePosixPath(path).name
    with filesystem.open_input_stream(path) as src, open(local, "wb") as dst:
        shutil.copyfileobj(src, dst, COPY_BYTES)
    return local


def _upload(local: Path, url: str) -> None:
    """``local`` to ``url`` under a temporary name, then moved onto it (never a half-written file at ``url``)."""
    filesystem, path = _fs(url)
    parent, name = str(PurePosixPath(path).parent), PurePosixPath(path).name
    filesystem.create_dir(parent, recursive=True)
    temp = f"{parent}/.{name[:100]}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    with removed_on_error(lambda: filesystem.delete_file(temp), ignore=Exception):
        with open(local, "rb") as src, filesystem.open_output_stream(temp) as dst:
            while chunk := src.read(COPY_BYTES):
                dst.write(chunk)
        filesystem.move(temp, path)


@contextlib.contextmanager
def staged(source: str, output: str,
           options: BatchOptions) -> Iterator[tuple[Job | None, Callable[[Record | None], Record]]]:  # fmt: skip
    """A local :class:`Job` for ``source`` -> ``output`` (either may be a URL) and ``finish(record)``, which uploads
    what the job wrote (extras first, the main output last) and returns the record naming the URLs. A download
    that fails gives no job (``None``) and ``finish`` a ``failed`` record; an upload that fails makes the record
    ``failed``; both say why in one line. Nothing is left in the temporary folder."""
    with tempfile.TemporaryDirectory(prefix="unmask-ray-") as tmp:
        staging = Path(tmp)
        local_out = staging / "out" / (output.rpartition("/")[2] if is_url(output) else Path(output).name)
        job = Job(Path(source), Path(output) if not is_url(output) else local_out)
        failure = None
        if is_url(source):
            try:
                job = Job(_download(source, staging / "in"), job.output)
            except (OSError, ValueError) as e:
                failure = f"cannot read {source}: {' '.join(str(e).split())}"

        def finish(rec: Record | None) -> Record:
            if rec is None:  # no job was run: nothing to upload
                return Record(source, None, "failed", error="nothing restored")
            rec.input = source
            if rec.output is not None and is_url(output):
                try:
                    locals_ = outputs(job, options)
                    for local, url in zip(locals_, _extras_of(output, options, source)):
                        if local.exists():
                            _upload(local, url)
                    rec.output = output
                except (OSError, ValueError) as e:
                    rec.status, rec.output, rec.error = (
                        "failed",
                        None,
                        f"cannot write {output}: {' '.join(str(e).split())}",
                    )
            return rec

        if failure is not None:
            yield None, lambda _none: Record(source, None, "failed", error=failure)
        else:
            yield job, finish
