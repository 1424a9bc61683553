"""Sweep the default's YAMNet prior (weight w, floor eps) on the cached validation/test variants.

    python -m babymon_lab.cry.weight_sweep                # validation only: the choice
    python -m babymon_lab.cry.weight_sweep --test --seed  # then test and the cry seed's 11 clips

score = sigmoid(logit(CNN) + w · log(YAMNet "Baby cry" + eps)). For each (w, eps) the threshold gives <= 2 %
false positives on the real validation clips; the choice (:func:`choose`) uses validation rows only. Needs the
caches of ``babymon train cry --compare-only`` (features, synthetic) and the shipped CNN weights.
Model card, "YAMNet prior weight sweep".
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babymon.cry.nets import combine_with_yamnet
from babymon_lab.cry.metrics import clip_score, threshold_for_fpr
from babymon_lab.paths import SHARED_DATA

WEIGHTS = (0.5, 0.75, 1.0, 1.5, 2.0)
FLOORS = (1e-4, 1e-3)
SYNTHETIC_KINDS = ("siren", "melody", "babble")
MIN_RECALL, MIN_WHITE_0DB_RECALL = 0.95, 0.85
SEED_CLIPS = ("3DCNN/baby/1016.avi", "3DCNN/baby/1022.avi", "SVM/babywav/1001.wav", "SVM/babywav/1022.wav",
              "3DCNN/other/1654.avi", "3DCNN/other/3077.avi", "3DCNN/other/3352.avi", "3DCNN/other/3376.avi",
              "SVM/otherwav/1651.wav", "SVM/otherwav/1653.wav", "SVM/otherwav/1655.wav")
SEED_CRIES = 4  # the first four of SEED_CLIPS


@dataclass(frozen=True)
class Row:
    weight: float
    floor: float
    split: str
    threshold: float
    roc_auc: float
    recall: float
    false_positive_rate: float
    white_0db_recall: float
    synthetic_fpr: tuple[float, ...]  # SYNTHETIC_KINDS order

    def passes(self) -> bool:
        """The validation rule of the choice: recall >= 0.95 and white 0 dB recall >= 0.85."""
        return self.recall >= MIN_RECALL and self.white_0db_recall >= MIN_WHITE_0DB_RECALL

    def meets_targets(self) -> bool:
        """The held-out targets: ROC AUC >= 0.98, recall >= 0.95 at FPR <= 2 %, white 0 dB recall >= 0.85."""
        return self.passes() and self.roc_auc >= 0.98 and self.false_positive_rate <= 0.02


def choose(rows: list[Row]) -> Row | None:
    """Validation rows keeping recall >= 0.95 and white 0 dB recall >= 0.85; of those, the fewest synthetic
    false alarms (sum over kinds), then the higher ROC AUC. None when no row passes."""
    passing = [r for r in rows if r.split == "validation" and r.passes()]
    return min(passing, key=lambda r: (round(sum(r.synthetic_fpr), 9), -r.roc_auc), default=None)


def _clip_scores(window_variant: np.ndarray, n: int, window_probs: np.ndarray) -> np.ndarray:
    bounds = np.searchsorted(window_variant, np.arange(n + 1))
    return np.array([clip_score(window_probs[bounds[i]:bounds[i + 1]]) for i in range(n)])


def sweep(real: dict[str, dict], synthetic: dict[str, dict], cnn: dict[tuple[str, str], np.ndarray],
          splits: tuple[str, ...] = ("val",), weights=WEIGHTS, floors=FLOORS) -> list[Row]:
    """Rows for every (floor, weight) and split; ``real``/``synthetic`` map split → the cached arrays,
    ``cnn`` maps (split, "real" | "synthetic") → the CNN's window probabilities."""
    from babymon_lab.cry.metrics import at_threshold, roc_auc

    def scores(split: str, kind: str, data: dict, weight: float, floor: float) -> np.ndarray:
        windows = combine_with_yamnet(cnn[(split, kind)], data["yamnet_cry"], weight, floor)
        return _clip_scores(data["window_variant"], len(data["variant_label"]), windows)

    rows = []
    for floor in floors:
        for weight in weights:
            labels = real["val"]["variant_label"]
            threshold = threshold_for_fpr(labels, scores("val", "real", real["val"], weight, floor), 0.02)
            for split in splits:
                data, synth = real[split], synthetic[split]
                s = scores(split, "real", data, weight, floor)
                labels, white = data["variant_label"], data["variant_condition"] == "white_0db"
                at = at_threshold(labels, s, threshold)
                syn = scores(split, "synthetic", synth, weight, floor)
                fprs = tuple(float(np.mean(syn[(synth["variant_kind"] == k) & (synth["variant_label"] == 0)] >= threshold))
                             for k in SYNTHETIC_KINDS)
                rows.append(Row(weight, floor, "validation" if split == "val" else split, threshold,
                                roc_auc(labels, s), at["recall"], at["false_positive_rate"],
                                at_threshold(labels[white], s[white], threshold)["recall"], fprs))
    return rows


def markdown(rows: list[Row]) -> str:
    lines = ["| w | eps | split | ROC AUC | recall | FPR | white 0 dB recall | threshold "
             "| synthetic FPR siren / melody / babble | validation rule / test targets met |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.weight:g} | {r.floor:g} | {r.split} | {r.roc_auc:.4f} | {r.recall:.3f} | "
                     f"{r.false_positive_rate:.3f} | {r.white_0db_recall:.3f} | {r.threshold:.2g} | "
                     + " / ".join(f"{x:.3f}" for x in r.synthetic_fpr)
                     + f" | {'yes' if (r.passes() if r.split == 'validation' else r.meets_targets()) else 'no'} |")
    return "\n".join(lines)


def seed_table(model_dir: Path, seed_dir: Path, thresholds: dict[tuple[float, float], float],
               weights=WEIGHTS, floors=FLOORS) -> str:
    """Clip scores of the cry seed's 11 clips for every (w, eps); ✗ marks a wrong call at that threshold."""
    from babymon.cry.features import log_mel
    from babymon.cry.nets import LogMelCnn
    from babymon.cry.windows import clip_windows
    from babymon.cry.yamnet import Yamnet
    from babymon_lab.cry.audio_io import load_audio

    cnn_model, yamnet = LogMelCnn.load(model_dir / "logmel_cnn.npz"), Yamnet()
    raw = []
    for relative in SEED_CLIPS:
        windows = clip_windows(load_audio(seed_dir / relative))
        raw.append((cnn_model.predict(log_mel(windows)),
                    np.array([yamnet.run(w)[0][yamnet.cry_index] for w in windows])))
    lines = ["| w | eps | threshold | " + " | ".join(Path(c).name for c in SEED_CLIPS) + " | cries heard | false alarms |",
             "|---" * (len(SEED_CLIPS) + 5) + "|"]
    for floor in floors:
        for weight in weights:
            threshold = thresholds[(weight, floor)]
            s = [clip_score(combine_with_yamnet(c, y, weight, floor)) for c, y in raw]
            cells = [f"{x:.2g}{' ✗' if (i >= SEED_CRIES) == (x >= threshold) else ''}" for i, x in enumerate(s)]
            lines.append(f"| {weight:g} | {floor:g} | {threshold:.2g} | " + " | ".join(cells)
                         + f" | {sum(x >= threshold for x in s[:SEED_CRIES])}/{SEED_CRIES}"
                         + f" | {sum(x >= threshold for x in s[SEED_CRIES:])}/{len(s) - SEED_CRIES} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from threadpoolctl import threadpool_limits

    from babymon.cry.model import CRY_MODEL_DIR
    from babymon.cry.nets import LogMelCnn
    from babymon_lab.cry.corpus import compute_features, compute_synthetic
    from babymon_lab.cry.train import _predict_batches

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test", action="store_true", help="also the test split (after the validation choice)")
    parser.add_argument("--seed", action="store_true", help="also the cry seed's 11 clips")
    parser.add_argument("--model-dir", type=Path, default=CRY_MODEL_DIR)
    parser.add_argument("--seed-dir", type=Path,
                        default=SHARED_DATA / "video/cry_fusion_4s_clips")
    args = parser.parse_args(argv)
    splits = ("val", "test") if args.test else ("val",)
    real = {s: compute_features(s) for s in splits}
    synthetic = {s: compute_synthetic(s) for s in splits}
    cnn_model = LogMelCnn.load(args.model_dir / "logmel_cnn.npz")
    with threadpool_limits(limits=1, user_api="blas"):
        cnn = {(s, kind): _predict_batches(cnn_model.predict, d[s]["logmel"])
               for s in splits for kind, d in (("real", real), ("synthetic", synthetic))}
        rows = sweep(real, synthetic, cnn, splits)
        print(markdown(rows))
        chosen = choose(rows)
        print("\nchosen on validation:", "none passes" if chosen is None else f"w={chosen.weight:g} eps={chosen.floor:g}")
        if args.seed:
            thresholds = {(r.weight, r.floor): r.threshold for r in rows if r.split == "validation"}
            print()
            print(seed_table(args.model_dir, args.seed_dir, thresholds))


if __name__ == "__main__":
    main()
