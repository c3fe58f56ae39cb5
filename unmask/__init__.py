"""unmask: restore censored faces with trained inpainting generators. Restored regions are synthetic.

Library use::

    import numpy as np, unmask
    result = unmask.restore(rgb, region="eyes")   # rgb: HxWx3 uint8 RGB
    result.rgb, result.faces                      # restored photo (new array), one report per face
    unmask.restore(rgb, region="auto", faces=[0, 2])  # only faces 0 and 2 (reading order, as result.faces numbers them)

Masks everywhere are HxW uint8 with 255 = hole. The library never prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from unmask.spec import MAX_FACES, VERSION

__version__ = VERSION

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from unmask.infer.pipeline import Result


def restore(
    rgb: "np.ndarray",
    region: str = "eyes",
    model: str | None = None,
    device: str = "auto",
    mask: "np.ndarray | None" = None,
    max_faces: int = MAX_FACES,
    force: bool = False,
    faces: "Sequence[int] | None" = None,
    largest: bool = False,
) -> "Result":
    """Restores what the censor hides over the ``region`` ("eyes", "mouth" or "auto") of every face in ``rgb``
    (HxWx3 uint8 RGB) with ``model`` (a name from ``unmask models`` or an .onnx path; default: the region's
    default model), or inside the user's ``mask`` (HxW uint8, 255 = hole). Only the censor's pixels (plus a pixel
    or two) change; a face with no censor over the region is left as it is unless ``force`` (then its landmark
    region is restored). ``faces``: restore only the faces with these numbers (reading order: rows from the top,
    left to right; ``result.faces`` carries every face's number as ``index``); ``largest``: only the largest face.
    For many photos, build one :class:`unmask.infer.pipeline.Restorer` and reuse it: this function loads the model and
    the face finder on every call."""
    from unmask.infer.face.choose import Choice
    from unmask.infer.pipeline import Restorer, load_models

    choose = Choice(indices=None if faces is None else tuple(faces), largest=largest)
    models = load_models(model, region, device)
    with Restorer(models, region=region, max_faces=max_faces, force=force, choose=choose) as restorer:
        return restorer.restore(rgb, user_mask=mask)


__all__ = ["__version__", "restore"]
