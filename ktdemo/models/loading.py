"""Loading the catalog's encoders safely (safetensors only, never remote code, eager attention for the
views), their tokenizers, the device to run on, and a run's weights in and out of its process."""
from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .. import network
from ..messages import say
from . import heads
from .catalog import ModelError, ModelSpec, heavy_import, model_source, resolve

if TYPE_CHECKING:
    from transformers import PreTrainedModel


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


def explain_load_error(spec: ModelSpec, error: Exception) -> ModelError:
    text = f"{type(error).__name__}: {error}"
    if "safetensors" in text.lower():
        return ModelError(say("error.no_safetensors", model=spec.hub_id))
    if "trust_remote_code" in text or "custom code" in text:
        return ModelError(say("error.custom_code", model=spec.hub_id))
    if any(word in text for word in ("offline", "Connection", "resolve", "Max retries", "NameResolution",
                                     "Network", "LocalEntryNotFound", "couldn't connect", "timed out")):
        return ModelError(say("error.model_download", model=spec.hub_id))
    if "not a valid model identifier" in text or "RepositoryNotFound" in text or "404" in text:
        return ModelError(say("error.model_not_found", model=spec.hub_id))
    return ModelError(say("error.model_load", model=spec.hub_id, detail=(str(error).splitlines() or [""])[0][:200]))


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
    if network.hub_unreachable():
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
    return _pretrained(key, tuple(label_names), seed, chosen_pooling(key, pooling))


def chosen_pooling(model: str, pooling: str | None) -> str:
    """The pooling a setting means: "cls" or "mean" as given; None or "auto": the encoder's own."""
    return natural_pooling(model) if pooling in (None, "auto") else pooling


def trainable_copy(model: PreTrainedModel) -> PreTrainedModel:
    """A private copy to train; SDPA attention trains faster than eager, where the family has it."""
    copied = copy.deepcopy(model)
    try:
        copied.set_attn_implementation("sdpa")
    except ValueError:  # no SDPA for this family in transformers (MPNet's mean-pooled head): it trains eager
        pass
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
