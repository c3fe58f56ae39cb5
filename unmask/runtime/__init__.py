"""Inference runtime: ONNX Runtime sessions (CUDA when really available, else CPU) and model discovery."""

from unmask.runtime.model import Model, ModelError, load_model
from unmask.runtime.registry import find_model, list_models, model_dirs

__all__ = ["Model", "ModelError", "load_model", "find_model", "list_models", "model_dirs"]
