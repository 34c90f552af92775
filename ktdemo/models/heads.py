"""Classifier heads: the standard one, or the sentence encoder's own pooling with a linear layer on top.

transformers' sequence classifiers read the first token ([CLS], through BERT's pooler). A sentence
encoder such as all-MiniLM-L6-v2 was trained to mean-pool its tokens instead: its [CLS] vector means
little until fine-tuning has moved it. `mean_pooled(cls)` gives the family's classifier with that
pooling, L2-normalised, and one linear layer: the zero-shot classifier's own shape, so training can
start *as* the zero-shot classifier (see `warmstart`).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import torch
from torch import nn

POOLING_KEY = "ktdemo_pooling"  # written into a saved model's config.json: "mean" needs this class to load


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """(batch, tokens, hidden) -> (batch, hidden): the mean over real tokens, L2-normalised."""
    if attention_mask is None:
        attention_mask = torch.ones(hidden.shape[:2], device=hidden.device)
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return nn.functional.normalize(mean, dim=-1)


class _MeanPooling:
    """Mixed in front of a family's *ForSequenceClassification: the same encoder, another head."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        setattr(config, POOLING_KEY, "mean")
        for name in ("pre_classifier", "dropout"):  # DistilBERT's extra layer, the head's dropout: unused
            if hasattr(self, name):
                delattr(self, name)
        if getattr(self.base_model, "pooler", None) is not None:  # BERT's [CLS] pooler: unused
            self.base_model.pooler = None
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None, labels=None,
                output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs):
        from transformers.modeling_outputs import SequenceClassifierOutput

        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        outputs = self.base_model(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                                  output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                                  return_dict=True, **extra)
        logits = self.classifier(mean_pool(outputs.last_hidden_state, attention_mask))
        loss = nn.functional.cross_entropy(logits.float(), labels.view(-1)) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                        attentions=outputs.attentions)


@functools.cache
def mean_pooled(classifier_class: type) -> type:
    """`classifier_class` (e.g. BertForSequenceClassification) with mean pooling and a linear head."""
    return type(f"MeanPooled{classifier_class.__name__}", (_MeanPooling, classifier_class), {})


def with_pooling(standard: type, pooling: str) -> type:
    """The model class for a pooling: "cls", the family's standard classifier (`standard`), or "mean"."""
    return mean_pooled(standard) if pooling == "mean" else standard


def pooling_of(model) -> str:
    return getattr(model.config, POOLING_KEY, None) or "cls"


def sentence_pooling(folder: str | Path) -> str | None:
    """The pooling a sentence-transformers folder declares ("mean", "cls", ...), None if it is no such folder."""
    folder = Path(folder)
    try:
        modules = json.loads((folder / "modules.json").read_text())
        pooling = next(m for m in modules if m["type"].endswith("Pooling"))
        settings = json.loads((folder / pooling["path"] / "config.json").read_text())
    except (OSError, ValueError, StopIteration, KeyError, TypeError):
        return None
    modes = [key[len("pooling_mode_"):] for key, on in settings.items() if key.startswith("pooling_mode_") and on]
    return {"mean_tokens": "mean", "cls_token": "cls"}.get(modes[0], modes[0]) if len(modes) == 1 else None


def save_sentence_transformer(model, folder: str | Path, max_length: int) -> None:
    """Beside a mean-pooled model's `save_pretrained` files, the sentence-transformers modules that
    reproduce it: Transformer (the root) -> mean Pooling -> Normalize -> Dense (the classifier, no
    activation). `SentenceTransformer(folder).encode(texts)` then returns this model's logits."""
    from safetensors.torch import save_file

    folder, hidden = Path(folder), model.config.hidden_size
    modules = [("sentence_transformers.models.Transformer", ""), ("sentence_transformers.models.Pooling", "1_Pooling"),
               ("sentence_transformers.models.Normalize", "2_Normalize"), ("sentence_transformers.models.Dense", "3_Dense")]
    _write_json(folder / "modules.json", [{"idx": i, "name": str(i), "path": path, "type": kind}
                                          for i, (kind, path) in enumerate(modules)])
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": max_length, "do_lower_case": False})
    _write_json(folder / "1_Pooling" / "config.json", {"word_embedding_dimension": hidden,
                                                        "pooling_mode_cls_token": False,
                                                        "pooling_mode_mean_tokens": True,
                                                        "pooling_mode_max_tokens": False,
                                                        "pooling_mode_mean_sqrt_len_tokens": False})
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(folder / "3_Dense" / "config.json", {"in_features": hidden, "out_features": model.config.num_labels,
                                                      "bias": True,
                                                      "activation_function": "torch.nn.modules.linear.Identity"})
    layer = model.classifier
    save_file({"linear.weight": layer.weight.detach().float().contiguous().cpu(),
               "linear.bias": layer.bias.detach().float().contiguous().cpu()}, str(folder / "3_Dense" / "model.safetensors"))


def _write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
