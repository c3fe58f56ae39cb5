"""unmask: restore censored faces with trained inpainting generators. Restored regions are synthetic."""

__version__ = "0.1.0"
