"""Many photos and videos: read, restore, write, one record per input. Never prints; the CLI renders the records.

Guarantees: inputs are never written to; no output, main or extra (``--compare``, ``--save-mask``), is written twice
in one run (a clash fails the later input); an input whose outputs all exist is skipped unless ``overwrite`` (so an
interrupted folder run resumes where it stopped), and its main output is written last, so an input is never taken
for done while an extra image is missing; each output is written atomically by :func:`unmask.infer.io.write.write_image`
(a full disk is a failure, never a truncated file); any failure while handling one input, expected or not, yields a
``failed`` record with a one-line reason and the batch goes on; photos that already carry unmask's provenance tag
(outputs of an earlier run) are ``skipped``, not restored again.

* :mod:`~unmask.infer.runner.run`: :func:`run_batch`, the inputs in order;
* :mod:`~unmask.infer.runner.job`: one input (:func:`process` a photo, :func:`process_video` a video), and the user's
  mask and edge files;
* :mod:`~unmask.infer.runner.outputs`: which files each input writes, and the clashes between them;
* :mod:`~unmask.infer.runner.folder`: :func:`check_output_folder` and :func:`lock_output_folder`, for the caller, before
  and around a batch: an output folder that cannot be written, or that another run is writing into, is a usage
  error, not a failure per photo;
* :mod:`~unmask.infer.runner.records`: :class:`BatchOptions` in, one :class:`Record` per input out;
* :mod:`~unmask.infer.runner.state`: the output folder's state file (inputs found to need nothing, not looked at
  again by a rerun with the same settings).

The names below are the public API, importable from ``unmask.infer.runner``.
"""

from unmask.infer.runner.folder import (
    OutputBusy,
    OutputFolderError,
    check_output_folder,
    lock_output_folder,
)
from unmask.infer.runner.job import (
    MIN_SIDE,
    load_user_edges,
    load_user_mask,
    process,
    process_video,
    settled,
)
from unmask.infer.runner.outputs import (
    EXTRAS,
    extras,
    faces_pictures,
    outputs,
    plan_clashes,
    sidecar,
)
from unmask.infer.runner.records import STATUSES, BatchOptions, Record, summary
from unmask.infer.runner.state import STATE_FILE, StateFile, settings_key
from unmask.infer.runner.run import run_batch

__all__ = [
    "EXTRAS",
    "MIN_SIDE",
    "STATE_FILE",
    "STATUSES",
    "BatchOptions",
    "OutputBusy",
    "OutputFolderError",
    "Record",
    "StateFile",
    "check_output_folder",
    "extras",
    "faces_pictures",
    "load_user_edges",
    "load_user_mask",
    "lock_output_folder",
    "outputs",
    "plan_clashes",
    "process",
    "process_video",
    "run_batch",
    "settings_key",
    "settled",
    "sidecar",
    "summary",
]
