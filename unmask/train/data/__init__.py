"""Training data: a photo folder becomes cached aligned crops + landmarks (:mod:`unmask.train.data.prepare`, torch-free),
which :mod:`unmask.train.data.dataset` censors on the fly into training batches. :mod:`unmask.train.data.augment`
(landmark-aware flips) is torch-free."""
