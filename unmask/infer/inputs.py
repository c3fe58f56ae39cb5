"""Which files to process and where each result goes.

:func:`discover` turns the paths given on the command line into :class:`Job` (source file, output file) and
:class:`Skip` (a path left out, and why), in a deterministic order: the inputs in the order given, each folder's
entries sorted by name, depth first. It reads no image; :func:`unmask.infer.io.read_image` judges the contents.

Decisions:

* a file given explicitly is a job when its extension is an image extension (:data:`unmask.infer.io.EXTENSIONS`, any case)
  or a video extension (:data:`unmask.infer.video.stream.VIDEO_EXTENSIONS`), else a Skip; inside a folder, files with other extensions are ignored silently;
* names starting with ``.`` (``.DS_Store``, macOS ``._x.jpg`` companions, ``.git``, our own temporary files) are
  ignored inside folders;
* a folder given explicitly whose name has an image extension (``shots.png/``) is a Skip "is a directory": an
  explicit list of photos that matches a folder is more likely a glob than a request to scan it (pass
  ``shots.png/*`` to process its contents); inside a folder walk, a subfolder is a folder whatever its name;
* without ``recursive``, subfolders are not searched and each folder with some says so once (a Skip);
  with it, symbolic links to folders are followed (after the real subfolders of the same folder); a folder reached again, through a link loop or a second route, is
  reported once (a Skip) and not scanned again (identity is ``(st_dev, st_ino)``);
* the output folder is never scanned (so ``-o photos/restored`` can sit inside ``photos``), and the whole listing is
  taken before anything is written, so results never become inputs;
* ``a/b/c.jpg`` found under the given folder ``a`` goes to ``out/b/c.jpg``; a file ``x/c.jpg`` given alone to
  ``out/c.jpg``; the extension becomes ``fmt``'s when given (see :func:`unmask.infer.io.output_suffix`); a video keeps its
  own (same container);
* an output that would leave the output folder, that is (or links to) any input file, or that another input already
  maps to, is a Skip: inputs are never written to, and no output is written twice; so is an output that a symbolic
  link inside the output folder would send elsewhere.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .io.read import EXTENSIONS
from .io.write import output_suffix
from .video.formats import VIDEO_EXTENSIONS, is_video_name


@dataclass(frozen=True)
class Job:
    """Restore ``source`` into ``output``."""

    source: Path
    output: Path


@dataclass(frozen=True)
class Skip:
    """``path`` is left out because of ``reason`` (one line). ``failed``: whether it counts as a failed input
    (exit status 1); notices (subfolders not searched, a link loop not followed, a folder seen twice) do not."""

    path: Path
    reason: str
    failed: bool = True


def is_image_name(name: str) -> bool:
    """Whether ``name`` has an image extension unmask reads."""
    return Path(name).suffix.lower() in EXTENSIONS


def is_input_name(name: str) -> bool:
    """Whether ``name`` has an extension unmask restores: a photo's or a video's."""
    return is_image_name(name) or is_video_name(name)


def map_output(out_dir: Path, parts: Sequence[str], fmt: str | None = None) -> Path:
    """``out_dir / parts...`` with the last part's extension mapped by :func:`unmask.infer.io.output_suffix`.

    Raises ``ValueError`` when a part is empty, ``.``, ``..``, absolute or holds a separator, i.e. when the result
    could land outside ``out_dir``.
    """
    if not parts:
        raise ValueError("no file name")
    seps = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    for part in parts:
        if part in ("", ".", "..") or "\x00" in part or any(s in part for s in seps) or Path(part).is_absolute():
            raise ValueError(f"output name {'/'.join(parts)!r} would leave the output folder")
    name = Path(parts[-1])
    suffix = name.suffix if is_video_name(name) else output_suffix(name.suffix, fmt)
    out = Path(out_dir).joinpath(*parts[:-1], name.stem + suffix)
    base = os.path.normpath(os.path.abspath(out_dir))
    if os.path.commonpath([base, os.path.normpath(os.path.abspath(out))]) != base:
        raise ValueError(f"output name {'/'.join(parts)!r} would leave the output folder")
    real = os.path.realpath(out_dir)  # a symbolic link inside the output folder must not lead the write elsewhere
    if os.path.commonpath([real, os.path.realpath(out)]) != real:
        raise ValueError(f"output {out} would leave the output folder through a symbolic link")
    return out


def _key(path: Path | str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class _Walker:
    def __init__(self, out_dir: Path, recursive: bool, fmt: str | None) -> None:
        self.out_dir = out_dir
        self.out_key = _key(out_dir)
        self.recursive = recursive
        self.fmt = fmt
        self.seen_dirs: dict[tuple[int, int], Path] = {}
        self.items: list[Job | Skip] = []

    def job(self, source: Path, parts: Sequence[str]) -> None:
        try:
            self.items.append(Job(source, map_output(self.out_dir, parts, self.fmt)))
        except ValueError as e:
            self.items.append(Skip(source, str(e)))

    def explicit(self, path: Path) -> None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            reason = "broken symbolic link" if os.path.islink(path) else "no such file or directory"
            self.items.append(Skip(path, reason))
            return
        except OSError as e:
            self.items.append(Skip(path, f"cannot access: {e.strerror or e}"))
            return
        if stat.S_ISDIR(st.st_mode):
            if is_input_name(path.name):
                self.items.append(Skip(path, "is a directory, not an image (pass its contents to process them)"))
                return
            key = (st.st_dev, st.st_ino)
            if key in self.seen_dirs:
                self.items.append(Skip(path, f"same folder as {self.seen_dirs[key]}; not scanned twice", failed=False))
                return
            self.seen_dirs[key] = path
            self.walk(path, (), {key: path})
        elif not stat.S_ISREG(st.st_mode):
            self.items.append(Skip(path, "not a regular file"))
        elif not is_input_name(path.name):
            known = ", ".join(sorted(EXTENSIONS))
            videos = ", ".join(sorted(VIDEO_EXTENSIONS))
            self.items.append(
                Skip(path, f"not an image or video extension ({path.suffix or 'none'}; unmask reads {known}; {videos})")
            )
        else:
            self.job(path, (path.name,))

    def walk(self, folder: Path, rel: tuple[str, ...], ancestors: dict[tuple[int, int], Path]) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            self.items.append(Skip(folder, f"cannot list folder: {e.strerror or e}"))
            return
        subfolders = 0
        # linked folders after real ones, so a folder reached twice is scanned under its real name
        entries.sort(key=lambda e: e.is_symlink())
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = not is_dir and entry.is_file(follow_symlinks=True)
            except OSError:
                is_dir = is_file = False
            if is_dir:
                subfolders += 1
                if self.recursive:
                    self.subfolder(path, rel + (entry.name,), ancestors)
            elif is_file:
                if is_input_name(entry.name):
                    self.job(path, rel + (entry.name,))
            elif is_input_name(entry.name):
                broken = entry.is_symlink() and not os.path.exists(path)
                self.items.append(Skip(path, "broken symbolic link" if broken else "not a regular file"))
        if subfolders and not self.recursive:
            plural = "s" if subfolders > 1 else ""
            self.items.append(
                Skip(folder, f"{subfolders} subfolder{plural} not searched (use --recursive)", failed=False)
            )

    def subfolder(self, path: Path, rel: tuple[str, ...], ancestors: dict[tuple[int, int], Path]) -> None:
        key = _key(path)
        if key is None:
            self.items.append(Skip(path, "cannot access folder"))
            return
        if key == self.out_key:
            return  # the output folder: results are never inputs
        if key in ancestors:
            self.items.append(Skip(path, f"symbolic link loop back to {ancestors[key]}; not followed", failed=False))
            return
        if key in self.seen_dirs:
            self.items.append(Skip(path, f"same folder as {self.seen_dirs[key]}; not scanned twice", failed=False))
            return
        self.seen_dirs[key] = path
        self.walk(path, rel, {**ancestors, key: path})


def _check_outputs(items: list[Job | Skip]) -> list[Job | Skip]:
    """Replace jobs whose output is an input file, or is already taken by an earlier job, by Skips."""
    sources: dict[tuple[int, int], Path] = {}
    for item in items:
        if isinstance(item, Job):
            key = _key(item.source)
            if key is not None:
                sources.setdefault(key, item.source)
    used: dict[str, Job] = {}
    checked: list[Job | Skip] = []
    for item in items:
        if not isinstance(item, Job):
            checked.append(item)
            continue
        out_key = _key(item.output)
        same = os.path.normpath(os.path.abspath(item.output))
        if out_key is not None and out_key == _key(item.source):
            checked.append(Skip(item.source, "output is the input file itself (inputs are never written to)"))
        elif out_key is not None and out_key in sources:
            checked.append(Skip(item.source, f"output {item.output} is the input {sources[out_key]}"))
        elif same in used:
            first = used[same]
            if _key(first.source) == _key(item.source) and _key(item.source) is not None:
                checked.append(Skip(item.source, f"listed twice (as {first.source})", failed=False))
            else:
                checked.append(Skip(item.source, f"output {item.output} already taken by {first.source}"))
        else:
            used[same] = item
            checked.append(item)
    return checked


def discover(
    inputs: Iterable[Path | str], out_dir: Path | str, recursive: bool = False, fmt: str | None = None
) -> Iterator[Job | Skip]:
    """Jobs and skips for ``inputs`` (files and folders) writing under ``out_dir``; see the module docstring.

    The listing is complete when this returns (nothing is written meanwhile). ``fmt`` (``"png"``, ``"jpg"``, ...)
    sets the output extension; an unknown one, or one that cannot carry the provenance tag, raises ``ValueError``.
    """
    if fmt is not None:
        output_suffix(".png", fmt)  # validate now, not at the first job
    walker = _Walker(Path(out_dir), recursive, fmt)
    for path in inputs:
        walker.explicit(Path(path))
    return iter(_check_outputs(walker.items))
