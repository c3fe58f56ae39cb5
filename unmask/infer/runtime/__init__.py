"""Inference runtime: ONNX Runtime sessions (CUDA when really available, else CPU) and model discovery."""

from unmask.infer.runtime.model import Model, ModelError, load_model
from unmask.infer.runtime.registry import find_model, list_models, model_dirs

__all__ = ["Model", "ModelError", "load_model", "find_model", "list_models", "model_dirs"]
