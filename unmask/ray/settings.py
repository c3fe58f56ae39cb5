"""What every actor of a Ray pool needs to build the same :class:`~unmask.infer.pipeline.Restorer` as a plain run:
:class:`RestorerSettings` (small and picklable: the actors load their own models, once each), and the numbers that
size the pool."""

from __future__ import annotations

from dataclasses import dataclass

from unmask.infer.face.choose import Choice
from unmask.infer.pipeline import Restorer, load_models
from unmask.spec import MAX_FACES, MIN_FACE

ACTORS_PER_GPU = 2
"""With ``device="cuda"`` each actor asks Ray for ``1 / ACTORS_PER_GPU`` of a GPU: two actors share a GPU, so one
actor's reading, face finding and writing (CPU) overlap the other's generator (GPU)."""

LOCAL_OBJECT_STORE_BYTES = 300 * 1024**2
"""Object store of a local cluster (``--ray local``): records and paths travel through it, not photos (the actors
read and write the files themselves), so a small store is enough and leaves the memory to the models."""


@dataclass(frozen=True)
class RestorerSettings:
    """The options of a :class:`Restorer` and of its models, as the actors rebuild them: ``model`` (a name, or a
    path every node can read), ``region``, ``device`` (``auto``/``cpu``/``cuda``), ``threads`` (ONNX Runtime's
    intra-op threads per actor, at least 1), and the Restorer's own options."""

    model: str | None = None
    region: str = "eyes"
    device: str = "auto"
    threads: int = 1
    max_faces: int = MAX_FACES
    min_face: int = MIN_FACE
    keep_mosaic: bool = True
    force: bool = False
    faces: tuple[int, ...] | None = None
    largest: bool = False
    flip_average: bool = True
    retouch: bool = True

    @classmethod
    def of(cls, restorer: Restorer, model: str | None, device: str, threads: int) -> RestorerSettings:
        """The settings of an existing ``restorer`` (the driver's, which decides the state file's key), with the
        ``model`` it was loaded from and the ``device`` and ``threads`` the actors should use."""
        return cls(model=model, region=restorer.region, device=device, threads=max(1, threads),
                   max_faces=restorer.finder.max_faces, min_face=restorer.finder.min_face,
                   keep_mosaic=restorer.keep_mosaic, force=restorer.force, faces=restorer.choose.indices,
                   largest=restorer.choose.largest, flip_average=restorer.flip_average,
                   retouch=restorer.retouch)  # fmt: skip

    def build(self) -> Restorer:
        """Loads the models (one-line ``LookupError``/``ModelError``/``DeviceError`` as a plain run) and the
        Restorer; the caller closes it."""
        models = load_models(self.model, self.region, self.device, self.threads)
        return Restorer(models, region=self.region, max_faces=self.max_faces, min_face=self.min_face,
                        keep_mosaic=self.keep_mosaic, force=self.force,
                        choose=Choice(indices=self.faces, largest=self.largest), flip_average=self.flip_average,
                        retouch=self.retouch)  # fmt: skip

    def cap_threads(self) -> None:
        """Caps OpenCV's threads in this process (an actor) at ``threads``, as ``unmask --threads N`` does in a plain
        run's: an actor has that many CPUs, and OpenCV's results (the mosaic finder's) must match the plain run's."""
        import cv2

        cv2.setNumThreads(self.threads)

    @property
    def gpu_share(self) -> float:
        """The GPUs each actor asks Ray for: ``1 / ACTORS_PER_GPU`` with ``device="cuda"``, else none."""
        return 1.0 / ACTORS_PER_GPU if self.device == "cuda" else 0.0
