"""The YAMNet prior sweep (model card, "YAMNet prior weight sweep"): the choice uses validation rows only."""

from __future__ import annotations

import numpy as np
import pytest

from babymon.cry.nets import combine_with_yamnet
from babymon_lab.cry.weight_sweep import Row, choose, sweep


def _row(weight, split="validation", recall=0.96, white=0.9, synthetic=(0.1, 0.4, 0.5), auc=0.997, fpr=0.02):
    return Row(weight, 1e-4, split, 0.1, auc, recall, fpr, white, synthetic)


def test_the_floor_caps_the_veto_and_weight_zero_is_the_cnn_alone():
    cnn = np.array([0.99, 0.99])
    assert combine_with_yamnet(cnn, np.zeros(2), 0.0) == pytest.approx(cnn)
    hard, soft = combine_with_yamnet(cnn, np.zeros(2), 1.0, 1e-4), combine_with_yamnet(cnn, np.zeros(2), 1.0, 1e-3)
    assert hard[0] < soft[0] < 0.99
    assert np.log(hard[0] / (1 - hard[0])) == pytest.approx(np.log(99) + np.log(1e-4))


def test_choose_keeps_the_recall_rules_then_takes_the_fewest_synthetic_false_alarms():
    rows = [_row(0.5), _row(1.0, synthetic=(0.05, 0.3, 0.1)),
            _row(2.0, recall=0.94, synthetic=(0.0, 0.0, 0.0)),          # fails recall
            _row(1.5, white=0.8, synthetic=(0.0, 0.1, 0.0)),            # fails white 0 dB
            _row(3.0, split="test", synthetic=(0.0, 0.0, 0.0))]         # test rows never count
    assert choose(rows).weight == 1.0
    assert choose([_row(2.0, recall=0.9)]) is None
    assert _row(1.0, split="test", fpr=0.026).meets_targets() is False


def test_sweep_sets_each_threshold_on_validation_and_applies_it_to_test():
    # two-window clips; validation: 40 negatives (no false positive allowed at 2 %), 2 cries; the prior reorders
    # clip 0 (a confident CNN mistake YAMNet doubts) below the cries and vetoes the synthetic sounds harder
    def split(cnn_scores, yamnet, labels, kinds=None):
        n = len(labels)
        data = {"yamnet_cry": np.repeat(np.asarray(yamnet, float), 2), "window_variant": np.repeat(np.arange(n), 2),
                "variant_label": np.asarray(labels), "variant_condition": np.array(["white_0db"] * n)}
        if kinds is not None:
            data["variant_kind"] = np.asarray(kinds)
        return data, np.repeat(np.asarray(cnn_scores, float), 2)

    labels = [0] * 40 + [1, 1]
    val, val_cnn = split([0.99] + [0.01] * 39 + [0.9, 0.9], [1e-2] + [1e-3] * 39 + [0.5, 0.5], labels)
    syn, syn_cnn = split([0.995] * 3, [1e-6] * 3, [0, 0, 0], ["siren", "melody", "babble"])
    cnn = {("val", "real"): val_cnn, ("val", "synthetic"): syn_cnn,
           ("test", "real"): val_cnn, ("test", "synthetic"): syn_cnn}
    rows = sweep({"val": val, "test": val}, {"val": syn, "test": syn}, cnn, ("val", "test"), (0.0, 1.0), (1e-4,))
    by_weight = {(r.weight, r.split): r for r in rows}
    assert by_weight[(0.0, "validation")].roc_auc < 1.0 and by_weight[(1.0, "validation")].roc_auc == 1.0
    assert by_weight[(1.0, "validation")].synthetic_fpr == (0.0, 0.0, 0.0)
    assert by_weight[(0.0, "validation")].synthetic_fpr == (1.0, 1.0, 1.0)
    assert by_weight[(1.0, "test")].threshold == by_weight[(1.0, "validation")].threshold
