"""Where things are inside a Transformer classifier: the encoder's layers, the head on top, the layer that
makes the logits, each layer's attention output projection. Every "where is layer k / the head / W_O"
question is answered here, so the families' layouts (BERT, RoBERTa, ELECTRA, DistilBERT, MPNet) live in one place.
"""
from __future__ import annotations

from torch import nn

from ..messages import UserError, say


def encoder_layers(model) -> nn.ModuleList:
    """The stack of Transformer blocks (BERT, RoBERTa, ELECTRA, MPNet: `encoder.layer`; DistilBERT: `transformer.layer`)."""
    base = model.base_model
    return base.encoder.layer if hasattr(base, "encoder") else base.transformer.layer


def head_modules(model) -> list[str]:
    """Names of the modules on top of the encoder (classifier, DistilBERT's pre_classifier...)."""
    return [name for name, module in model.named_children()
            if name != model.base_model_prefix and any(True for _ in module.parameters())]


def last_linear(model) -> nn.Linear:
    """The layer that turns features into logits."""
    linears = [m for name in head_modules(model) for m in getattr(model, name).modules() if isinstance(m, nn.Linear)]
    return linears[-1]


# Each BERT-style layer: self-attention projections, the attention output projection, the feed-forward output.
_BERT_PARTS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
               "output.dense")


NOT_BERT = say("error.not_bert")


def bert_layers(model) -> list:
    """The encoder's layers, checked to have the BERT layout that the Learn views read."""
    try:
        layers = list(encoder_layers(model))
        for layer in layers:
            for path in _BERT_PARTS:
                layer.get_submodule(path)
    except AttributeError:
        raise UserError(NOT_BERT) from None
    return layers


# Where each family projects the concatenated heads back to the hidden size (BERT, RoBERTa, ELECTRA first).
_OUTPUT_PROJECTIONS = ("attention.output.dense", "attention.out_lin", "attention.attn.o")


def head_output_projections(model) -> list:
    """Each layer's attention output projection, in layer order: its input is the heads' outputs side by side."""
    try:
        layers = encoder_layers(model)
    except AttributeError:
        layers = []
    found = [layer.get_submodule(path) for layer in layers for path in _OUTPUT_PROJECTIONS
             if _has_submodule(layer, path)]
    if not found or len(found) != model.config.num_hidden_layers:
        raise UserError(say("error.ablation_not_supported"))
    return found


def _has_submodule(module, path: str) -> bool:
    try:
        module.get_submodule(path)
        return True
    except AttributeError:
        return False
