from ktdemo.models.evaluation import misclassified, score


def test_score_counts_every_class_even_unpredicted_ones():
    metrics = score([0, 1, 2, 2], [0, 0, 0, 0], 3)
    assert metrics.accuracy == 0.25
    assert metrics.confusion == [[1, 0, 0], [1, 0, 0], [2, 0, 0]]
    assert 0 < metrics.macro_f1 < 0.25


def test_metrics_subset_rescores_the_same_predictions():
    metrics = score([0, 1, 1, 0], [0, 1, 0, 0], 2)
    metrics.probabilities = [0.9, 0.8, 0.6, 0.7]
    subset = metrics.subset([1, 2], [1, 1], 2)
    assert subset.accuracy == 0.5 and subset.examples == 2
    assert subset.confusion == [[0, 0], [1, 1]] and subset.probabilities == [0.8, 0.6]


def test_misclassified_lists_confident_mistakes_first():
    metrics = score([0, 1, 1], [1, 0, 1], 2)
    metrics.probabilities = [0.6, 0.9, 0.99]
    rows = misclassified(["a", "b", "c"], [0, 1, 1], metrics, ["neg", "pos"])
    assert [row["text"] for row in rows] == ["b", "a"]
    assert rows[0] == {"text": "b", "true": "pos", "predicted": "neg", "confidence": 0.9}
