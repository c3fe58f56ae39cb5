"""The entry for pipelines: :func:`restore_dataset` maps a Ray Dataset through a pool of restoring actors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from unmask.infer.runner import BatchOptions
from unmask.ray.actor import RestoreFiles, RestoreImages
from unmask.ray.cluster import ClusterError, require_ray
from unmask.ray.settings import RestorerSettings

if TYPE_CHECKING:  # pragma: no cover
    from ray.data import Dataset


def pool_size(settings: RestorerSettings, workers: int | None, rows: int | None = None, spare: int = 0) -> int:
    """Actors in the pool: ``workers`` when given, else as many as the cluster's CPUs hold at ``settings.threads``
    each, ``spare`` CPUs left for other tasks (with ``device="cuda"``: as many as its GPUs hold at
    ``settings.gpu_share`` each); at most ``rows``, at least 1. :class:`~unmask.ray.cluster.ClusterError` when
    the actors need a GPU share and the cluster has no GPU (they would wait for one forever). Ray must be
    connected."""
    ray = require_ray()
    res = ray.cluster_resources()
    if settings.gpu_share and not res.get("GPU"):
        raise ClusterError(f'device "{settings.device}" gives each actor a share of a GPU, but the Ray cluster has '
                           "no GPU (start its GPU nodes, or use device auto or cpu)")  # fmt: skip
    if workers is None:
        if settings.gpu_share:
            workers = int(res.get("GPU", 0) / settings.gpu_share)
        else:
            workers = int((res.get("CPU", 1) - spare) // max(1, settings.threads))
    if rows is not None:
        workers = min(workers, rows)
    return max(1, workers)


def restore_dataset(ds: Dataset, settings: RestorerSettings | None = None, *, options: BatchOptions | None = None,
                    workers: int | None = None, planned: bool = False) -> Dataset:  # fmt: skip
    """``ds`` restored by a pool of ``workers`` actors (:func:`pool_size`), each loading its models once. Lazy, as
    Ray Data is: nothing runs until the result is consumed.

    * Rows with ``image`` (HxWx3 uint8 RGB, e.g. from ``ray.data.read_images(..., include_paths=True)``): the
      same rows with ``image`` restored (unchanged where nothing was), ``status`` (``restored``, ``no-face``,
      ``no-censor``, ``failed``) and ``record`` (JSON: faces, regions, model, error). Nothing is written.
    * Rows with ``source`` and ``output`` (file paths every node can reach, or URLs of a pyarrow file system):
      each file restored and written as a plain run writes it (``options``: a plain run's
      :class:`~unmask.infer.runner.BatchOptions`); rows ``source``, ``record`` (JSON of a
      :class:`~unmask.infer.runner.Record`, read back with :func:`unmask.ray.actor.record_of`). An input whose
      outputs exist is ``exists``, unless ``planned`` (see :class:`~unmask.ray.actor.RestoreFiles`).

    Without ``workers``, a pool of images leaves one CPU of the cluster to the tasks that read them. ``ValueError``
    for a dataset with neither kind of row. Ray must be connected (:func:`unmask.ray.connect`)."""
    settings = settings or RestorerSettings()
    columns = set(ds.columns())
    resources: dict[str, Any] = {"num_cpus": settings.threads}
    if settings.gpu_share:
        resources["num_gpus"] = settings.gpu_share
    if "image" in columns:
        # the tasks that read the images need a CPU too: a pool holding every CPU would wait for them forever
        pool = require_ray().data.ActorPoolStrategy(size=pool_size(settings, workers, spare=1))
        return ds.map_batches(RestoreImages, fn_constructor_kwargs={"settings": settings}, batch_size=1,
                              batch_format="numpy", compute=pool, **resources)  # fmt: skip
    if {"source", "output"} <= columns:
        pool = require_ray().data.ActorPoolStrategy(size=pool_size(settings, workers))
        kwargs = {"settings": settings, "options": options or BatchOptions(), "planned": planned}
        return ds.map_batches(RestoreFiles, fn_constructor_kwargs=kwargs, batch_size=1, batch_format="numpy",
                              compute=pool, **resources)  # fmt: skip
    raise ValueError(f"a dataset to restore has rows with 'image', or with 'source' and 'output'; "
                     f"this one has {', '.join(sorted(columns)) or 'no columns'}")  # fmt: skip
