"""Faces: detection and landmarks (mediapipe), landmark index sets, canonical alignment."""

from unmask.infer.face.types import Face

__all__ = ["Face"]
