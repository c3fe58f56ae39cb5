"""Inference runtime: ONNX Runtime sessions (CUDA when really available, else CPU) and model discovery."""

from unmask.infer.runtime.model import Model, ModelError, load_model
from unmask.infer.runtime.registry import find_model, list_models, load_default, model_dirs, runs_on_cpu

__all__ = [
    "Model",
    "ModelError",
    "load_model",
    "load_default",
    "find_model",
    "list_models",
    "model_dirs",
    "runs_on_cpu",
]
