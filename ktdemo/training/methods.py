"""Transfer methods: which weights of a pretrained classifier move during training.

`full` and `top_layers` freeze the bottom of the encoder (no backward pass through it); `lora`
wraps the model in peft low-rank adapters and trains them with the head, then merges them back,
so the result is a plain model again. `linear_probe` lives in `probe`: it needs no gradients.
"""
from __future__ import annotations

from torch import nn

from ..config import RunConfig
from ..models.anatomy import encoder_layers, head_modules

# Attention projections to adapt where peft has no default for the architecture.
LORA_TARGETS = {"distilbert": ["q_lin", "v_lin"], "mpnet": ["q", "v"]}


def prepare(model, config: RunConfig):
    """Freeze or wrap `model` for the run's method; returns the model to train (a peft model for LoRA)."""
    if config.method == "lora":
        return _with_lora(model, config)
    layers = encoder_layers(model)
    frozen = list(layers[:max(0, len(layers) - config.top_layers)]) if config.method == "top_layers" else []
    if config.method == "linear_probe":
        frozen = [model.base_model]
    elif config.freeze_embeddings or config.method == "top_layers":
        frozen.append(model.base_model.embeddings)
    for module in frozen:
        module.requires_grad_(False)
    return model


def set_dropout(model, rate: float | None) -> None:
    """Every dropout layer's rate (attention dropout reads its module's `p` too); None leaves the model's own."""
    if rate is None:
        return
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = rate


def finish(model):
    """A plain transformers model again: LoRA adapters merged into the weights they adapt."""
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    return model


def _with_lora(model, config: RunConfig):
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.1,
        target_modules=LORA_TARGETS.get(model.config.model_type),  # None: peft's default (query, value)
        modules_to_save=head_modules(model),  # the new head trains in full and is saved with the adapters
    )
    return get_peft_model(model, lora)
