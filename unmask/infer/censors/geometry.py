"""Moved to :mod:`unmask.infer.face.geometry` (shapes on a face, shared by censors and regions); kept for one round
so that code written against the old place still imports."""

from unmask.infer.face.geometry import *  # noqa: F403
