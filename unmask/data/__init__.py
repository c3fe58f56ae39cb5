"""Training data: a photo folder becomes cached aligned crops + landmarks (:mod:`unmask.data.prepare`, torch-free),
which :mod:`unmask.data.dataset` censors on the fly into training batches. :mod:`unmask.data.augment`
(landmark-aware flips) is torch-free."""
