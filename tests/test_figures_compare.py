import math

import numpy as np
import pytest

from ktdemo.figures.compare import (COLUMNS, NO_RUNS, accuracy_vs_parameters_figure, accuracy_vs_time_figure,
                                    comparison_table, domain_gap_figure, human_count, kshot_curve_figure,
                                    method_colour, transfer_matrix_figure)


def run(number, method, kind, accuracy, trainable, **extra):
    row = {"run": number, "label": f"#{number} {method}", "kind": kind, "method": method, "model": "MiniLM",
           "dataset": "sst2", "source_dataset": None, "per_class": None, "accuracy": accuracy, "macro_f1": 0.7,
           "before_accuracy": None, "train_seconds": 10.0, "total_seconds": 12.5, "trainable_params": trainable,
           "total_params": 22_700_000, "examples_per_s": 250.0, "peak_memory_mb": 512.0}
    return row | extra


ROWS = [
    run(1, "full", "in_domain", 0.9, 22_700_000, before_accuracy=0.5, per_class=32),
    run(2, "lora", "in_domain", 0.85, 4_600, total_seconds=8.0),
    run(3, "lora", "cross_domain", 0.7, 4_600, source_dataset="imdb"),
    run(4, "nli", "zero_shot", 0.6, 0, examples_per_s=None, peak_memory_mb=None),
]


@pytest.mark.parametrize("n, text", [(0, "0"), (950, "950"), (999, "999"), (1_000, "1k"), (4_600, "4.6k"),
                                     (999_960, "1M"), (22_700_000, "22.7M"), (1_300_000_000, "1.3B")])
def test_human_count(n, text):
    assert human_count(n) == text


def test_table_columns_and_formatting():
    table = comparison_table(ROWS)
    assert list(table.columns) == COLUMNS
    full, lora, cross, zero = (table.iloc[i] for i in range(4))
    assert full["#"] == 1 and full["method"] == "Full fine-tune" and full["kind"] == "In-domain"
    assert full["accuracy"] == "90.0%" and full["macro-F1"] == "70.0%"
    assert full["gain vs untrained head"] == "+40.0 pp" and lora["gain vs untrained head"] == "—"
    assert full["trainable params"] == "22.7M (100%)" and lora["trainable params"] == "4.6k (0.02%)"
    assert full["examples/class"] == "32" and lora["examples/class"] == "all" and zero["examples/class"] == "0"
    assert (full["trained on"], cross["trained on"], zero["trained on"]) == ("sst2", "imdb", "—")
    assert cross["tested on"] == "sst2" and lora["wall time (s)"] == "8.0" and full["examples/s"] == "250.0"
    assert zero["method"] == "Zero-shot (NLI)" and zero["examples/s"] == "—" and zero["peak memory (MB)"] == "—"
    assert zero["trainable params"] == "0 (0%)"


def test_table_of_no_runs_keeps_its_columns():
    table = comparison_table([])
    assert table.empty and list(table.columns) == COLUMNS


def test_accuracy_vs_time_has_one_trace_per_method_with_kind_symbols():
    figure = accuracy_vs_time_figure(ROWS)
    assert [trace.name for trace in figure.data] == ["Full fine-tune", "LoRA", "Zero-shot (NLI)"]
    lora = figure.data[1]
    assert list(lora.x) == [8.0, 12.5] and list(lora.y) == [0.85, 0.7]
    assert list(lora.marker.symbol) == ["circle", "diamond"]
    assert lora.marker.color == method_colour("lora") != figure.data[0].marker.color
    assert lora.customdata[1][0] == "#3 lora" and "4.6k trainable params" in lora.customdata[1][2]
    assert figure.layout.yaxis.tickformat == ".0%"
    assert "◆ Cross-domain" in figure.layout.annotations[0].text


def test_method_colour_does_not_depend_on_which_runs_are_shown():
    alone = accuracy_vs_time_figure([ROWS[1]])
    assert alone.data[0].marker.color == accuracy_vs_time_figure(ROWS).data[1].marker.color


def test_accuracy_vs_parameters_is_log_and_places_zero_shot_at_one():
    figure = accuracy_vs_parameters_figure(ROWS)
    assert figure.layout.xaxis.type == "log"
    zero_shot = figure.data[2]
    assert list(zero_shot.x) == [1] and "drawn at 1" in zero_shot.customdata[0][2]
    assert "drawn at 1" not in figure.data[0].customdata[0][2]


@pytest.mark.parametrize("make", [accuracy_vs_time_figure, accuracy_vs_parameters_figure])
def test_scatters_without_runs_say_so(make):
    figure = make([])
    assert len(figure.data) == 0 and figure.layout.annotations[0].text == NO_RUNS


def test_kshot_orders_examples_per_class_with_all_last_and_averages_repeats():
    points = [
        {"method": "lora", "per_class": None, "accuracy": 0.9},
        {"method": "lora", "per_class": 64, "accuracy": 0.8},
        {"method": "lora", "per_class": 8, "accuracy": 0.6},
        {"method": "lora", "per_class": 8, "accuracy": 0.7},  # a second seed
        {"method": "full", "per_class": 16, "accuracy": 0.75},
        {"method": "full", "per_class": 8, "accuracy": 0.5},
    ]
    figure = kshot_curve_figure(points, chance=0.5)
    assert list(figure.layout.xaxis.categoryarray) == ["8", "16", "64", "all"]
    assert figure.layout.xaxis.type == "category"
    full, lora = figure.data
    assert full.name == "Full fine-tune" and list(full.x) == ["8", "16"]
    assert list(lora.x) == ["8", "64", "all"] and lora.y[0] == pytest.approx(0.65)
    assert figure.layout.shapes[0].y0 == 0.5 and figure.layout.annotations[0].text == "chance"


def test_kshot_splits_lines_by_kind_and_handles_no_points():
    points = [{"method": "lora", "per_class": 8, "accuracy": 0.6, "kind": "in_domain"},
              {"method": "lora", "per_class": 8, "accuracy": 0.5, "kind": "cross_domain"}]
    names = [trace.name for trace in kshot_curve_figure(points).data]
    assert names == ["LoRA · In-domain", "LoRA · Cross-domain"]
    assert len(kshot_curve_figure(points).layout.shapes) == 0  # no chance line unless asked
    assert len(kshot_curve_figure([]).data) == 0


def test_transfer_matrix_blanks_missing_cells_and_outlines_in_domain():
    figure = transfer_matrix_figure([[0.9, None], [0.7, 0.85], [0.6, 0.65]],
                                    ["sst2", "imdb", "yelp"], ["sst2", "imdb"])
    heatmap = figure.data[0]
    z = np.asarray(heatmap.z, dtype=float)
    assert math.isnan(z[0, 1]) and z[1, 0] == 0.7
    assert heatmap.text[0] == ["90.0%", ""] and heatmap.text[1][1] == "85.0%"
    assert figure.layout.xaxis.title.text == "tested on" and figure.layout.yaxis.title.text == "trained on"
    outlined = [(shape.x0, shape.y0) for shape in figure.layout.shapes]
    assert outlined == [(-0.5, -0.5), (0.5, 0.5)]  # sst2→sst2 and imdb→imdb; yelp was never tested
    assert figure.layout.height > transfer_matrix_figure([[0.9]], ["a"], ["a"]).layout.height


def test_domain_gap_bars():
    stages = {"source test (in-domain)": 0.8, "target test (zero target labels)": 0.65,
              "target test after adapting with 32/class": 0.74}
    bar = domain_gap_figure(stages).data[0]
    assert list(bar.x) == list(stages) and list(bar.y) == [0.8, 0.65, 0.74]
    assert bar.texttemplate == "%{y:.1%}" and len(set(bar.marker.color)) == 3
    assert domain_gap_figure({}).layout.annotations[0].text == NO_RUNS
