"""``unmask run ... --ray local|ADDRESS``: the CLI's side of :mod:`unmask.ray` (imported only with ``--ray``, so a
plain run never imports Ray). Each function ends the command with one line (exit 2) where it cannot go on."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from unmask.cli._common import fail, say

_FOLDED_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/+(.*)$")


def location(path: Path | str) -> str:
    """``path`` as given on the command line: a URL that typer's ``Path`` folded (``s3://b/x`` -> ``s3:/b/x``)
    gets its ``//`` back (``file:`` URLs their third ``/``); anything else is the path itself."""
    text = str(path)
    m = _FOLDED_URL.match(text)
    if not m:
        return text
    scheme, rest = m.groups()
    return f"{scheme}:///{rest}" if scheme.lower() == "file" else f"{scheme}://{rest}"


def check(address: str, workers: int | None, inputs: list[Path], out_dir: Path, show_faces: Any) -> bool:
    """Usage errors of ``--ray`` before anything is loaded (Ray missing: which extra to install); whether any
    input or the output folder is a URL."""
    from unmask.ray import ClusterError, RayMissing, check_address, is_url, require_ray

    try:
        require_ray()
    except RayMissing as e:
        fail(str(e))
    if workers is not None and workers < 1:
        fail(f"--ray-workers {workers}: give 1 or more")
    urls = is_url(location(out_dir)) or any(is_url(location(p)) for p in inputs)
    if urls and show_faces is not None:
        fail("--show-faces writes local pictures: it does not go with URL inputs or outputs")
    if not address.strip():
        fail("--ray: give an address (HOST:PORT, or auto) or local")
    try:
        check_address(address)  # before the models load and the output folder is made
    except ClusterError as e:
        fail(str(e))
    return urls


def url_items(inputs: list[Path], out_dir: Path, recursive: bool, fmt: str | None) -> list:
    """The jobs of a run with URL inputs or output (:func:`unmask.ray.list_url`), in the order given."""
    from unmask.ray import UrlJob, list_url

    items: list = []
    for p in inputs:
        try:
            items += [UrlJob(s, o) for s, o in list_url(location(p), location(out_dir), recursive, fmt)]
        except (ValueError, OSError) as e:
            fail(" ".join(str(e).split()))
    return items


def records(address: str, workers: int | None, items: list, restorer: Any, options: Any, model: str | None,
            device: str, threads: int) -> Iterator[Any]:  # fmt: skip
    """The run's records from a pool of actors on the cluster at ``address`` (``local``: one started here), each
    actor rebuilding ``restorer`` on ``device`` with ``threads`` ONNX Runtime threads (0: 1) and as many CPUs."""
    from unmask.infer.runner import settings_key
    from unmask.ray import LOCAL, ClusterError, RestorerSettings, connect, restore_jobs
    from unmask.ray.dataset import pool_size

    settings = RestorerSettings.of(restorer, model, device, threads)
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # which dataset runs, where its logs are, progress bars off
    try:
        with connect(address) as ray:
            cpus, gpus = (int(ray.cluster_resources().get(r, 0)) for r in ("CPU", "GPU"))
            where = "a local Ray cluster" if address == LOCAL else f"the Ray cluster at {address}"
            share = f", {settings.gpu_share:g} GPU" if settings.gpu_share else ""
            say(f"restoring on {where} ({cpus} CPUs, {gpus} GPUs): up to {pool_size(settings, workers)} actors "
                f"of {settings.threads} CPU{share} each, device {device}")  # fmt: skip
            key = settings_key(restorer, options.user_mask_path)
            yield from restore_jobs(items, settings, options, state_key=key, workers=workers)
    except ClusterError as e:
        fail(str(e))
