"""Training: settings (:mod:`.config`, torch-free), the loop (:mod:`.loop`: :func:`~unmask.train.loop.train`,
:func:`~unmask.train.loop.resume_config`) driving a run set up by :mod:`.session`, one optimisation step
(:mod:`.step`), checkpoints (:mod:`.checkpoint`), multi-process helpers (:mod:`.dist`), validation
(:mod:`.validate`) and run logs (:mod:`.events`). Importing this package imports nothing heavy."""
