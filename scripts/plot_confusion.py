"""Draw the confusion matrices of `babymon eval ... --json` outputs side by side as one PNG (OpenCV only).

    .venv/bin/python scripts/plot_confusion.py OUT.png "Posture, colour=eval_posture.json" "Posture, IR=..." ...

Each argument is TITLE=JSON_FILE; a lone ``/`` starts a new row of panels. Rows are the true labels, columns the predicted ones; each cell shows the
count and is shaded by the share of its row (so recall reads along the diagonal). Labels with no true
example and no prediction are left out. This is how docs/vision-results.png was made.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

CELL = 62
LABEL_W = 150
HEAD_H = 210
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _shown(labels: list[str], matrix: np.ndarray) -> list[int]:
    return [i for i in range(len(labels)) if matrix[i].sum() or matrix[:, i].sum()]


def panel(title: str, report: dict) -> np.ndarray:
    labels = report["confusion_matrix"]["labels"]
    matrix = np.asarray(report["confusion_matrix"]["matrix"], dtype=float)
    keep = _shown(labels, matrix)
    labels, matrix = [labels[i] for i in keep], matrix[np.ix_(keep, keep)]
    n = len(labels)
    image = np.full((HEAD_H + n * CELL + 70, LABEL_W + n * CELL + 20, 3), 255, np.uint8)
    cv2.putText(image, title, (10, 28), FONT, 0.7, (0, 0, 0), 2, cv2.LINE_AA)
    summary = f"n={report['n']}  macro-F1 {report['macro_f1']:.3f}"
    cv2.putText(image, summary, (10, 54), FONT, 0.5, (60, 60, 60), 1, cv2.LINE_AA)
    for j, name in enumerate(labels):  # predicted, written upwards above each column
        text = np.full((CELL, HEAD_H - 64, 3), 255, np.uint8)
        cv2.putText(text, name, (4, CELL // 2 + 6), FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        image[64:HEAD_H, LABEL_W + j * CELL:LABEL_W + (j + 1) * CELL] = cv2.rotate(text, cv2.ROTATE_90_COUNTERCLOCKWISE)
    for i, name in enumerate(labels):
        y = HEAD_H + i * CELL
        cv2.putText(image, name, (8, y + CELL // 2 + 6), FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        total = matrix[i].sum()
        for j in range(n):
            share = matrix[i, j] / total if total else 0.0
            good = i == j
            colour = (np.array([255, 255, 255]) * (1 - share) + np.array([70, 160, 60] if good else [60, 60, 220]) * share)
            x = LABEL_W + j * CELL
            cv2.rectangle(image, (x, y), (x + CELL - 2, y + CELL - 2), tuple(int(c) for c in colour), -1)
            count = int(matrix[i, j])
            ink = (255, 255, 255) if share > 0.55 else (0, 0, 0)
            cv2.putText(image, str(count), (x + 10, y + CELL // 2 + 6), FONT, 0.55, ink, 1, cv2.LINE_AA)
    bottom = HEAD_H + n * CELL + 30
    cv2.putText(image, "rows: true, columns: predicted", (10, bottom), FONT, 0.45, (90, 90, 90), 1, cv2.LINE_AA)
    return image


def _row(panels: list[np.ndarray]) -> np.ndarray:
    height = max(p.shape[0] for p in panels)
    return np.hstack([np.vstack([p, np.full((height - p.shape[0], p.shape[1], 3), 255, np.uint8)]) for p in panels])


def main(argv: list[str]) -> int:
    if len(argv) < 2 or any("=" not in a and a != "/" for a in argv[1:]):
        print(__doc__, file=sys.stderr)
        return 2
    rows: list[list[np.ndarray]] = [[]]
    for arg in argv[1:]:
        if arg == "/":
            rows.append([])
            continue
        title, path = arg.split("=", 1)
        rows[-1].append(panel(title, json.loads(Path(path).read_text())))
    images = [_row(r) for r in rows if r]
    width = max(i.shape[1] for i in images)
    image = np.vstack([np.hstack([i, np.full((i.shape[0], width - i.shape[1], 3), 255, np.uint8)]) for i in images])
    cv2.imwrite(argv[0], image)
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
