"""Models: the catalog (light), safe loading (torch), the classifier heads and the anatomy of an encoder.

`models.X` reads the catalog at once; the loading functions import torch on first use, so that light
modules (the config, the UI at start-up) can `from ktdemo import models` without loading it.
"""
from __future__ import annotations

from .catalog import (DEFAULT_MODEL, MODELS, ModelError, ModelSpec, check, heavy_import, model_source, register_model,
                      resolve)

__all__ = ["DEFAULT_MODEL", "MODELS", "ModelError", "ModelSpec", "check", "heavy_import", "model_source",
           "register_model", "resolve"]
_LOADING = ("pick_device", "describe_device", "explain_load_error", "load_tokenizer", "load_classifier",
            "natural_pooling", "chosen_pooling", "pretrained_classifier", "trainable_copy", "for_inspection",
            "save_weights", "load_weights", "load_encoder_weights", "count_parameters")


def __getattr__(name: str):
    if name in _LOADING:
        return getattr(heavy_import("ktdemo.models.loading"), name)
    raise AttributeError(f"module 'ktdemo.models' has no attribute '{name}'")
