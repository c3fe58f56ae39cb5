"""Restoring on a Ray cluster through Ray Data (issue 30): ``unmask FOLDER --out DIR --ray local|ADDRESS`` and, for
pipelines, :func:`restore_dataset`. Needs the ``ray`` extra (``pip install 'unmask[ray]'``); this package imports
Ray only when it runs (:func:`~unmask.ray.cluster.require_ray` says in one line what to install).

The driver lists and plans the inputs exactly as a plain run (:func:`restore_jobs`); a pool of Ray actors, each
holding its own :class:`~unmask.infer.pipeline.Restorer` (its ONNX sessions loaded once; with ``device="cuda"`` a
share of a GPU each), restores them through the runner's own code, so outputs, provenance tags and records are a
plain run's. A killed actor is restarted and its photo retried (every write is atomic: nothing half-written); an
interrupted run resumes on its outputs and state file.

* :mod:`~unmask.ray.settings`: :class:`RestorerSettings`, what every actor rebuilds, and the pool's numbers;
* :mod:`~unmask.ray.cluster`: :func:`connect` (``local`` or an address), :func:`require_ray`;
* :mod:`~unmask.ray.actor`: the actors (files through the runner; images in memory);
* :mod:`~unmask.ray.dataset`: :func:`restore_dataset`;
* :mod:`~unmask.ray.batch`: :func:`restore_jobs`, a folder run's batch;
* :mod:`~unmask.ray.remote`: inputs and outputs at URLs of pyarrow's file systems (``s3://``, ``gs://``, ...).

Layering: imports :mod:`unmask.infer` and the shared contract only; :mod:`unmask.cli` imports it, lazily.
"""

from unmask.ray.actor import record_of
from unmask.ray.batch import UrlJob, restore_jobs
from unmask.ray.cluster import LOCAL, ClusterError, RayMissing, check_address, connect, require_ray
from unmask.ray.dataset import restore_dataset
from unmask.ray.remote import is_url, list_url
from unmask.ray.settings import RestorerSettings

__all__ = [
    "LOCAL",
    "ClusterError",
    "RayMissing",
    "RestorerSettings",
    "UrlJob",
    "check_address",
    "connect",
    "is_url",
    "list_url",
    "record_of",
    "require_ray",
    "restore_dataset",
    "restore_jobs",
]
