"""Scores for sentence tasks (accuracy, macro-F1) and NER (strict IOB2 span F1).

Every score lies in [0, 1]. `PRIMARY_METRIC` names the score that reports
and the leaderboard rank by, per task kind.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.data import TASK_KINDS, TaskKind

PRIMARY_METRIC: dict[TaskKind, str] = {
    "classification": "accuracy",
    "sentiment": "accuracy",
    "ner": "f1",
}

# (entity type, start, end): token positions with `end` exclusive.
Span = tuple[str, int, int]


def _check_same_length(gold: Sequence[object], pred: Sequence[object], metric: str) -> None:
    if len(gold) != len(pred):
        raise ValueError(
            f"{metric}: gold has {len(gold)} items but predictions have {len(pred)}; "
            "pass one prediction per gold item"
        )


def accuracy(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Return the fraction of predictions equal to the gold label."""
    _check_same_length(gold, pred, "accuracy")
    if len(gold) == 0:
        raise ValueError("accuracy of an empty evaluation set is undefined; pass at least one example")
    correct = sum(1 for g, p in zip(gold, pred) if g == p)
    return correct / len(gold)


def macro_f1(gold: Sequence[int], pred: Sequence[int], num_labels: int) -> float:
    """Return the unweighted mean of per-label F1 over labels present in gold or predictions.

    A label that occurs in neither gold nor predictions is left out, because
    its F1 is 0/0. Scoring it as 0 would penalise a method for a class that
    the evaluation sample happens to lack. This matches scikit-learn's
    `f1_score(average="macro", zero_division=0)` without a `labels`
    argument (checked against scikit-learn 1.9.1 in the tests).
    """
    _check_same_length(gold, pred, "macro_f1")
    if len(gold) == 0:
        raise ValueError("macro_f1 of an empty evaluation set is undefined; pass at least one example")
    for name, values in (("gold", gold), ("predictions", pred)):
        for value in values:
            if not 0 <= value < num_labels:
                raise ValueError(
                    f"macro_f1: {name} contain label {value}, outside 0..{num_labels - 1}; "
                    "check num_labels against the task's label_names"
                )

    labels = sorted(set(gold) | set(pred))
    total = 0.0
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, pred) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, pred) if g == label and p != label)
        # The label occurs somewhere, so the denominator is positive.
        total += 2 * tp / (2 * tp + fp + fn)
    return total / len(labels)


def entity_spans(tags: Sequence[str]) -> list[Span]:
    """Extract entity spans from one sentence's tags under strict IOB2.

    An entity starts at `B-x` and continues over the following `I-x` tags of
    the same type. An `I-x` that does not continue an open entity of type x
    opens no entity. The CoNLL-2000 conlleval script instead starts a new
    entity there, so this rule never gives more spans than conlleval's.
    """
    spans: list[Span] = []
    open_type: str | None = None
    open_start = 0

    for position, tag in enumerate(tags):
        if tag == "O":
            prefix, entity_type = "O", None
        elif len(tag) > 2 and tag[1] == "-" and tag[0] in "BI":
            prefix, entity_type = tag[0], tag[2:]
        else:
            raise ValueError(f"invalid IOB2 tag {tag!r} at position {position}; expected O, B-<type> or I-<type>")

        if prefix == "I" and entity_type == open_type:
            continue
        if open_type is not None:
            spans.append((open_type, open_start, position))
            open_type = None
        if prefix == "B":
            open_type, open_start = entity_type, position

    if open_type is not None:
        spans.append((open_type, open_start, len(tags)))
    return spans


def span_f1(gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> dict[str, float]:
    """Compute entity-level micro precision, recall and F1 under strict IOB2.

    A predicted span counts as correct only when its type, start and end all
    match a gold span in the same sentence. Counts are pooled over all
    sentences and types, so a type that is never predicted adds its gold
    spans to the recall denominator.

    Empty cases: when gold and predictions both contain no entity, all three
    scores are 1.0, because the prediction matches the gold exactly
    (conlleval prints 0 here). Otherwise a ratio with a zero denominator is
    0.0, as in conlleval: gold empty and predictions non-empty gives
    precision 0, recall 0 and F1 0.
    """
    _check_same_length(gold_tags, pred_tags, "span_f1")
    correct = 0
    gold_count = 0
    pred_count = 0
    for index, (gold_sentence, pred_sentence) in enumerate(zip(gold_tags, pred_tags)):
        if len(gold_sentence) != len(pred_sentence):
            raise ValueError(
                f"span_f1: sentence {index} has {len(gold_sentence)} gold tags but "
                f"{len(pred_sentence)} predicted tags; predict one tag per word"
            )
        gold_spans = set(entity_spans(gold_sentence))
        pred_spans = set(entity_spans(pred_sentence))
        correct += len(gold_spans & pred_spans)
        gold_count += len(gold_spans)
        pred_count += len(pred_spans)

    if gold_count == 0 and pred_count == 0:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    precision = correct / pred_count if pred_count else 0.0
    recall = correct / gold_count if gold_count else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _tag_names(sequences: Sequence[Sequence[int]], label_names: Sequence[str], source: str) -> list[list[str]]:
    named: list[list[str]] = []
    for sentence in sequences:
        for tag in sentence:
            if not 0 <= tag < len(label_names):
                raise ValueError(
                    f"{source} contain tag index {tag}, outside 0..{len(label_names) - 1}; "
                    "check the predictor against the task's label_names"
                )
        named.append([label_names[tag] for tag in sentence])
    return named


def compute_metrics(
    kind: TaskKind,
    gold: Sequence[int] | Sequence[Sequence[int]],
    pred: Sequence[int] | Sequence[Sequence[int]],
    label_names: Sequence[str],
) -> dict[str, float]:
    """Score predictions for one task kind.

    Sentence tasks take one label index per example and return accuracy and
    macro_f1. NER takes one tag index per word, converts the indices to names
    with `label_names` and returns strict IOB2 span f1, precision and recall.
    """
    if kind == "ner":
        scores = span_f1(
            _tag_names(gold, label_names, "gold"),  # type: ignore[arg-type]
            _tag_names(pred, label_names, "predictions"),  # type: ignore[arg-type]
        )
        return {"f1": scores["f1"], "precision": scores["precision"], "recall": scores["recall"]}
    if kind in TASK_KINDS:
        return {
            "accuracy": accuracy(gold, pred),  # type: ignore[arg-type]
            "macro_f1": macro_f1(gold, pred, len(label_names)),  # type: ignore[arg-type]
        }
    raise ValueError(f"unknown task kind {kind!r}; expected one of {', '.join(TASK_KINDS)}")
