"""Classification metrics for ``babymon eval``: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence


def classification_report(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """``n``, ``accuracy``, ``macro_f1``, ``per_class`` ({label: {precision, recall, f1, support}}) and
    ``confusion_matrix`` ({"labels": [...], "matrix": rows = true label, columns = predicted label}).

    A precision or recall with nothing to divide by is 0.0 (and says so through ``support`` / the matrix).
    """
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    index = {label: i for i, label in enumerate(labels)}
    for label in (*truth, *predicted):
        if label not in index:
            raise ValueError(f"label {label!r} is not one of {list(labels)}")
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t]][index[p]] += 1
    per_class = {}
    for label, i in index.items():
        tp = matrix[i][i]
        predicted_as = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = tp / predicted_as if predicted_as else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    n = len(truth)
    return {
        "n": n,
        "accuracy": sum(matrix[i][i] for i in range(len(labels))) / n if n else 0.0,
        "macro_f1": sum(c["f1"] for c in per_class.values()) / len(labels) if labels else 0.0,
        "per_class": per_class,
        "confusion_matrix": {"labels": list(labels), "matrix": matrix},
    }
