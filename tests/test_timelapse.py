import numpy as np
import pytest
from test_transfer import TRANSFER

from ktdemo import models
from ktdemo.figures.timelapse import timelapse_figure
from ktdemo.progress import TrainingLog
from ktdemo.training import loop
from ktdemo.training.timelapse import Recorder, Snapshot, snapshot, snapshot_every
from ktdemo.training.transfer import run_transfer

PROBE = "A gorgeous, witty and moving film."


def trainable(tiny_model):
    return models.trainable_copy(models.pretrained_classifier(tiny_model, ["negative", "positive"]))


def test_a_run_with_a_probe_snapshots_its_attention_from_step_0_to_the_last(tiny_config, tiny_model):
    log = TrainingLog(probe_text=PROBE)
    result = run_transfer(tiny_config(TRANSFER), log)
    steps = [shot.step for shot in log.snapshots]
    assert steps == [0, 1, 2, 3, 4]  # 4 steps: well under the cap, so every one
    assert log.snapshots[0].loss is None and log.snapshots[-1].loss == pytest.approx(log.losses[-1][1])
    shot = log.snapshots[-1]
    assert shot.attentions.dtype == np.float16 and shot.attentions.shape[:2] == (2, 2)
    assert shot.attentions.shape[2:] == (len(shot.tokens), len(shot.tokens))
    np.testing.assert_allclose(shot.attentions.astype(np.float32).sum(axis=-1), 1.0, atol=1e-2)
    assert set(shot.probabilities) == set(result.label_names)
    assert shot.caption().startswith("step 4 · loss ") and "predicts" in shot.caption()
    assert result.log is log and result.model.config._attn_implementation == "eager"  # ready for attention views


def test_snapshots_leave_training_exactly_as_it_was(tiny_config, tiny_model, monkeypatch):
    seen = []  # the attention kernel at every step: snapshots switch to eager and back
    on_step_end = loop._RunCallback.on_step_end

    def spy(self, args, state, control, model=None, **kwargs):
        seen.append(model.config._attn_implementation)
        return on_step_end(self, args, state, control, model=model, **kwargs)

    monkeypatch.setattr(loop._RunCallback, "on_step_end", spy)
    plain = run_transfer(tiny_config(TRANSFER, seed=3))
    watched = run_transfer(tiny_config(TRANSFER, seed=3), TrainingLog(probe_text=PROBE))
    assert len(watched.log.snapshots) > 1 and plain.log.snapshots == []
    assert seen == ["sdpa"] * 8
    assert watched.after.predictions == plain.after.predictions
    assert watched.log.losses == plain.log.losses  # bit for bit: no RNG draws, no gradients
    assert watched.log.evals == plain.log.evals


def test_snapshot_restores_the_kernel_and_every_module_mode(tiny_model):
    model = trainable(tiny_model)
    model.base_model.embeddings.eval()  # a mixed state must come back as it was
    modes = [module.training for module in model.modules()]
    shot = snapshot(model, models.load_tokenizer(tiny_model), PROBE, step=7, loss=0.5)
    assert model.config._attn_implementation == "sdpa"
    assert [module.training for module in model.modules()] == modes
    assert shot.step == 7 and shot.caption().startswith("step 7 · loss 0.50 · predicts ")


def test_snapshot_of_a_lora_model_sees_its_adapters(tiny_model):
    from ktdemo.config import RunConfig
    from ktdemo.training import methods

    model = methods.prepare(trainable(tiny_model), RunConfig(method="lora"))
    shot = snapshot(model, models.load_tokenizer(tiny_model), PROBE, step=0, loss=None)
    assert model.get_base_model().config._attn_implementation == "sdpa" and model.training
    np.testing.assert_allclose(shot.attentions.astype(np.float32).sum(axis=-1), 1.0, atol=1e-2)


def test_the_cap_thins_evenly_and_keeps_the_first_and_last(tiny_model):
    recorder = Recorder(trainable(tiny_model), models.load_tokenizer(tiny_model), PROBE, every=1, cap=6)
    for step in range(0, 38):
        recorder.take(step, 1.0 / (step + 1))
    recorder.take(37, 0.1, last=True)
    recorder.take(37, 0.1, last=True)  # already taken: not twice
    steps = [shot.step for shot in recorder.snapshots]
    assert len(steps) <= 6 and steps[0] == 0 and steps[-1] == 37
    assert steps == sorted(set(steps))
    gaps = np.diff(steps[:-1])
    assert len(set(gaps)) == 1  # evenly spread


def test_snapshot_interval_spreads_the_cap_over_the_run():
    assert snapshot_every(step_s=0.1, budget_s=None, max_steps=400) == 10  # fixed steps: exactly the cap
    assert snapshot_every(step_s=0.1, budget_s=None, max_steps=4) == 1
    assert snapshot_every(step_s=0.25, budget_s=20, max_steps=0) == 8  # every SNAPSHOT_EVERY_S at most
    assert snapshot_every(step_s=0.25, budget_s=600, max_steps=0) == 60  # a long run: 600 s / 40
    assert snapshot_every(step_s=5.0, budget_s=20, max_steps=0) == 1


def test_no_probe_no_snapshots_and_no_cost(tiny_config, tiny_model):
    log = TrainingLog()
    run_transfer(tiny_config(TRANSFER, max_steps=2), log)
    assert log.snapshots == []


def test_timelapse_figure_steps_through_every_snapshot():
    rng = np.random.default_rng(0)
    frames = rng.random((3, 4, 4))
    frames /= frames.sum(axis=-1, keepdims=True)
    tokens = ["[CLS]", "fine", "film", "[SEP]"]
    shots = [Snapshot(step, None if step == 0 else 0.5, tokens, frames[None, None, i].astype(np.float16),
                      {"negative": 0.4, "positive": 0.6}) for i, step in enumerate([0, 5, 10])]
    figure = timelapse_figure(frames, tokens, [s.step for s in shots], [s.caption() for s in shots])
    slider = figure.layout.sliders[0]
    assert [step.label for step in slider.steps] == ["0", "5", "10"] and slider.active == 2
    assert np.allclose(figure.data[0].z, frames[-1], rtol=5e-3, atol=0)  # 3 significant digits
    assert np.array_equal(figure.data[0].z, slider.steps[-1].args[0]["z"][0])  # it starts at the last step
    assert "step 10 · loss 0.50 · predicts positive (0.60)" in figure.layout.title.text
    assert "before training" in slider.steps[0].args[1]["title.text"]
