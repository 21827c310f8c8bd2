"""Metric values on hand-built cases, each worked out by hand in comments.

Spans are written (type, start, end) with `end` exclusive. Where strict
IOB2 and conlleval's lenient rule differ, the comment gives both.
"""

from __future__ import annotations

import pytest
from sklearn.metrics import f1_score

from bench.metrics import (
    PRIMARY_METRIC,
    accuracy,
    compute_metrics,
    entity_spans,
    macro_f1,
    span_f1,
)


def test_accuracy_small_array() -> None:
    # 3 of 4 positions agree.
    assert accuracy([0, 1, 2, 2], [0, 2, 2, 2]) == 0.75


def test_accuracy_rejects_length_mismatch() -> None:
    with pytest.raises(ValueError, match="gold has 2 items but predictions have 3"):
        accuracy([0, 1], [0, 1, 1])


def test_accuracy_rejects_empty() -> None:
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])


def test_macro_f1_small_array() -> None:
    gold = [0, 1, 2, 2]
    pred = [0, 2, 2, 2]
    # label 0: tp 1, fp 0, fn 0 -> F1 1.0
    # label 1: tp 0, fp 0, fn 1 -> F1 0.0
    # label 2: tp 2, fp 1, fn 0 -> F1 2*2 / (2*2 + 1) = 0.8
    # Labels 3 and 4 occur in neither list and are left out: (1 + 0 + 0.8) / 3 = 0.6.
    assert macro_f1(gold, pred, num_labels=5) == pytest.approx(0.6)


def test_macro_f1_matches_sklearn() -> None:
    gold = [0, 0, 1, 1, 2, 3, 3, 3]
    pred = [0, 1, 1, 1, 4, 3, 0, 3]
    expected = f1_score(gold, pred, average="macro", zero_division=0)
    assert macro_f1(gold, pred, num_labels=6) == pytest.approx(expected)


def test_macro_f1_counts_predicted_only_label() -> None:
    # Label 1 is only predicted: tp 0, fp 1 -> F1 0. Label 0: tp 1, fn 1 -> 2/3.
    assert macro_f1([0, 0], [0, 1], num_labels=2) == pytest.approx((2 / 3 + 0.0) / 2)


def test_macro_f1_rejects_label_out_of_range() -> None:
    with pytest.raises(ValueError, match="label 3, outside 0..2"):
        macro_f1([0, 1], [0, 3], num_labels=3)


def test_entity_spans_basic() -> None:
    assert entity_spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]


def test_entity_spans_i_without_b_opens_nothing() -> None:
    # conlleval would read (PER, 0, 2) here; strict IOB2 reads no entity.
    assert entity_spans(["I-PER", "I-PER", "O"]) == []
    assert entity_spans(["O", "I-PER", "B-LOC"]) == [("LOC", 2, 3)]


def test_entity_spans_i_after_other_type() -> None:
    # B-PER closes at the I-LOC, which continues nothing and opens nothing.
    # conlleval would read (PER, 0, 1) and (LOC, 1, 3).
    assert entity_spans(["B-PER", "I-LOC", "I-LOC"]) == [("PER", 0, 1)]


def test_entity_spans_i_after_o_after_entity() -> None:
    # The O closes PER, so the later I-PER continues nothing.
    assert entity_spans(["B-PER", "O", "I-PER"]) == [("PER", 0, 1)]


def test_entity_spans_adjacent_same_type() -> None:
    assert entity_spans(["B-PER", "B-PER", "I-PER"]) == [("PER", 0, 1), ("PER", 1, 3)]


def test_entity_spans_entity_at_end() -> None:
    assert entity_spans(["O", "B-ORG", "I-ORG"]) == [("ORG", 1, 3)]


def test_entity_spans_rejects_invalid_tag() -> None:
    with pytest.raises(ValueError, match="invalid IOB2 tag 'PER' at position 1"):
        entity_spans(["O", "PER"])


def test_span_f1_exact_match() -> None:
    tags = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    assert span_f1(tags, tags) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_span_f1_partial_overlap_is_wrong() -> None:
    # gold: (PER, 0, 2), (LOC, 3, 4); pred: (PER, 0, 1), (LOC, 3, 4).
    # Only LOC matches: precision 1/2, recall 1/2, F1 1/2.
    scores = span_f1([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "B-LOC"]])
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(0.5)


def test_span_f1_wrong_type() -> None:
    # gold (PER, 0, 2), pred (ORG, 0, 2): same boundaries, wrong type, no match.
    scores = span_f1([["B-PER", "I-PER"]], [["B-ORG", "I-ORG"]])
    assert scores == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_span_f1_strict_i_without_b() -> None:
    # pred I-PER I-PER has no entity in strict IOB2, so nothing is predicted:
    # precision 0 (0/0 read as 0), recall 0/1, F1 0. conlleval would score 1.0.
    scores = span_f1([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]])
    assert scores == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_span_f1_i_after_other_type() -> None:
    # gold: (PER, 0, 1), (LOC, 1, 3). pred B-PER I-LOC I-LOC: only (PER, 0, 1).
    # tp 1, predicted 1, gold 2: precision 1, recall 1/2, F1 2/3.
    scores = span_f1([["B-PER", "B-LOC", "I-LOC"]], [["B-PER", "I-LOC", "I-LOC"]])
    assert scores["precision"] == pytest.approx(1.0)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(2 / 3)


def test_span_f1_adjacent_entities() -> None:
    # gold B-PER B-PER I-PER: (PER, 0, 1), (PER, 1, 3). pred merges them into
    # (PER, 0, 3): tp 0, precision 0/1, recall 0/2, F1 0.
    scores = span_f1([["B-PER", "B-PER", "I-PER"]], [["B-PER", "I-PER", "I-PER"]])
    assert scores == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_span_f1_all_o_gold_and_predictions() -> None:
    # No entity on either side: defined as a perfect score of 1.0.
    scores = span_f1([["O", "O"], ["O"]], [["O", "O"], ["O"]])
    assert scores == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_span_f1_all_o_gold_with_predictions() -> None:
    # gold has no entity, pred has (PER, 1, 2): precision 0/1, recall 0/0 read as 0.
    scores = span_f1([["O", "O"]], [["O", "B-PER"]])
    assert scores == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_span_f1_all_o_predictions() -> None:
    # gold has 2 entities, pred none: precision 0/0 read as 0, recall 0/2.
    scores = span_f1([["B-PER", "O", "B-LOC"]], [["O", "O", "O"]])
    assert scores == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_span_f1_missing_type_counts_in_recall() -> None:
    # gold: s1 (PER, 0, 1), (LOC, 2, 3); s2 (ORG, 0, 2). pred: s1 right, s2 no ORG.
    # Micro: tp 2, predicted 2, gold 3 -> precision 1, recall 2/3, F1 0.8.
    # Averaging only over predicted types would give 1.0.
    gold = [["B-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "O", "B-LOC"], ["O", "O", "O"]]
    scores = span_f1(gold, pred)
    assert scores["precision"] == pytest.approx(1.0)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(0.8)


def test_span_f1_precision_recall_asymmetry() -> None:
    # gold (PER, 0, 1); pred (PER, 0, 1), (LOC, 2, 3), (ORG, 3, 4).
    # tp 1: precision 1/3, recall 1/1, F1 2 * (1/3) / (4/3) = 0.5.
    gold = [["B-PER", "O", "O", "O"]]
    pred = [["B-PER", "O", "B-LOC", "B-ORG"]]
    scores = span_f1(gold, pred)
    assert scores["precision"] == pytest.approx(1 / 3)
    assert scores["recall"] == pytest.approx(1.0)
    assert scores["f1"] == pytest.approx(0.5)

    # Swapping gold and predictions swaps precision and recall.
    swapped = span_f1(pred, gold)
    assert swapped["precision"] == pytest.approx(1.0)
    assert swapped["recall"] == pytest.approx(1 / 3)
    assert swapped["f1"] == pytest.approx(0.5)


def test_span_f1_pools_counts_over_sentences() -> None:
    # s1: gold (PER, 0, 2), pred (PER, 0, 2) -> tp 1.
    # s2: gold (LOC, 0, 1), pred (LOC, 1, 2) -> tp 0.
    # The same span position in another sentence never matches: tp 1 of 2 and 2.
    gold = [["B-PER", "I-PER"], ["B-LOC", "O"]]
    pred = [["B-PER", "I-PER"], ["O", "B-LOC"]]
    scores = span_f1(gold, pred)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.5)


def test_span_f1_rejects_sentence_length_mismatch() -> None:
    with pytest.raises(ValueError, match="sentence 1 has 2 gold tags but 3 predicted tags"):
        span_f1([["O"], ["O", "O"]], [["O"], ["O", "O", "O"]])


def test_compute_metrics_classification() -> None:
    scores = compute_metrics("classification", [0, 1, 2, 2], [0, 2, 2, 2], ("a", "b", "c"))
    assert scores == {"accuracy": 0.75, "macro_f1": pytest.approx(0.6)}


def test_compute_metrics_ner_converts_indices() -> None:
    names = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
    gold = [[1, 2, 0, 3]]
    # Index 2 alone at position 0 is an I-PER without B-PER: no entity.
    # pred spans: (LOC, 3, 4) only -> tp 1, precision 1, recall 1/2, F1 2/3.
    pred = [[2, 2, 0, 3]]
    scores = compute_metrics("ner", gold, pred, names)
    assert set(scores) == {"f1", "precision", "recall"}
    assert scores["precision"] == pytest.approx(1.0)
    assert scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(2 / 3)


def test_compute_metrics_ner_rejects_bad_index() -> None:
    with pytest.raises(ValueError, match="tag index 7, outside 0..2"):
        compute_metrics("ner", [[0, 1]], [[0, 7]], ("O", "B-PER", "I-PER"))


def test_compute_metrics_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown task kind 'regression'"):
        compute_metrics("regression", [0], [0], ("a",))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "gold", "pred", "names"),
    [
        ("classification", [0, 1], [1, 1], ("a", "b")),
        ("sentiment", [0, 1], [0, 1], ("neg", "pos")),
        ("ner", [[1, 0]], [[1, 0]], ("O", "B-PER", "I-PER")),
    ],
)
def test_primary_metric_is_reported(kind: str, gold: list, pred: list, names: tuple[str, ...]) -> None:
    scores = compute_metrics(kind, gold, pred, names)  # type: ignore[arg-type]
    assert PRIMARY_METRIC[kind] in scores
    assert all(0.0 <= value <= 1.0 for value in scores.values())
