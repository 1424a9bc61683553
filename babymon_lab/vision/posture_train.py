"""``babymon train posture``: fit and compare the posture heads, the side model and the presence model.

    babymon train posture [--data ../shared/data] [--out models/posture] [--seed N] [--cache DIR] [--compare-only]

1. Runs MoveNet (as the locator does) and the MobileNet embedder over ``infant_posture`` (cached in a temp dir).
2. Splits by ``dup_group`` (70/15/15 of the groups, fixed seed): train / val (choices) / test (reported only).
3. Fits logistic-regression heads for each approach: image (embedding of the whole image, or of the body-box
   crop), keypoints, early fusion (one head on both) and late fusion (logits added); picks C and the fusion
   weight on val, then a prone bias on val so prone recall reaches the target; scores everything on test.
4. Ships the approach with the best val macro-F1 (``posture.npz``), the side model (``side.json``, trained on
   ``keypoints_csv/data_raw.csv``, scored on ``data_testing_raw.csv``) and the presence model
   (``presence.json``), and writes ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from babymon_lab.paths import bundled_models
from babymon_lab.vision.posture_data import (
    DEFAULT_DATA,
    IMAGE_CLASSES,
    OVERHEAD_CLASSES,
    KEYPOINTS_DIR,
    SPLIT_SEED,
    empty_crib_negatives,
    inpainted_negatives,
    occluded_positives,
    presence_items,
    presence_split,
    read_face_down_images,
    read_keypoint_rows,
    read_overhead_images,
    read_posture_images,
    split_images,
)

DEFAULT_OUT = bundled_models("posture")
C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
ALPHA_GRID = (0.2, 0.35, 0.5, 0.65, 0.8)
FACE_WEIGHTS = (1.0, 3.0, 10.0)  # multiplier on the standardised face columns (weaker L2 penalty), chosen on val
PRONE_RECALL_TARGET = 0.95  # on val (colour + IR look-alikes); the target is 0.90 on unseen data: margin
LYING_CLASSES = ("supine", "prone", "side")
MACRO_F1_TIE = 0.005  # val macro-F1 differences below this (about one photo of 235) are ties
PRESENCE_RECALL_TARGET = 0.99  # on out-of-fold training scores; missing a baby is the dangerous error


# -------------------------------------------------------------------------------------------- fitting

def fit_head(x: np.ndarray, y: np.ndarray, c: float, seed: int = 0, last: int = 0, weight: float = 1.0,
             sample_weight: np.ndarray | None = None):
    """Class-balanced logistic regression on standardised ``x``; the ``last`` columns are multiplied by
    ``weight`` after standardising (a weaker L2 penalty on them), folded into the head's scale.
    ``sample_weight``: how much each row counts (default: all alike)."""
    from sklearn.linear_model import LogisticRegression

    from babymon.vision.linear import LinearHead

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    if last:
        scale[-last:] /= weight
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed)
    model.fit((x - mean) / scale, y, sample_weight=sample_weight)
    return LinearHead(mean=mean, scale=scale, coef=model.coef_.astype(np.float64),
                      intercept=model.intercept_.astype(np.float64))


def softmax_binary(logits: np.ndarray) -> np.ndarray:
    """P(class 1) from a binary head's logits (sklearn gives one column for two classes)."""
    logits = np.asarray(logits)
    z = logits[:, 0] if logits.ndim == 2 and logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]
    return 1 / (1 + np.exp(-np.clip(z, -50, 50)))


def macro_f1(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    f1s = []
    for k in range(n_classes):
        tp = np.sum((truth == k) & (predicted == k))
        fp = np.sum((truth != k) & (predicted == k))
        fn = np.sum((truth == k) & (predicted != k))
        if tp + fp + fn:  # a class neither present nor predicted has no F1
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


def prone_bias(logits: np.ndarray, y: np.ndarray, prone: int, target: float = PRONE_RECALL_TARGET) -> float:
    """The smallest bias added to the prone logit that brings prone recall on (logits, y) to ``target``."""
    for bias in np.arange(0.0, 3.01, 0.1):
        shifted = logits.copy()
        shifted[:, prone] += bias
        predicted = shifted.argmax(axis=1)
        if np.mean(predicted[y == prone] == prone) >= target:
            return float(bias)
    return 3.0


def nll(logits: np.ndarray, y: np.ndarray) -> float:
    from babymon.vision.linear import softmax

    p = softmax(logits)
    return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))


def ece(logits: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top class (equal-width confidence bins)."""
    from babymon.vision.linear import softmax

    p = softmax(logits)
    confidence, correct = p.max(axis=1), p.argmax(axis=1) == y
    total = 0.0
    for low in np.linspace(0.0, 1.0, bins, endpoint=False):
        mask = (confidence > low) & (confidence <= low + 1.0 / bins)
        if mask.any():
            total += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(total)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T (logits / T) with the lowest NLL on (logits, y), on a log grid 0.25..8."""
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 61))
    return float(min(grid, key=lambda t: nll(logits / t, y)))


def choose_approach(results: dict[str, dict], wanted: str | None = None) -> str:
    """The approach to ship: the one named (by a part of its name), else among those within
    ``MACRO_F1_TIE`` of the best val macro-F1, the lowest val NLL (after temperature): honest probabilities
    break ties that 235 val photos cannot."""
    if wanted:
        matches = [name for name in results if wanted in name]
        if len(matches) != 1:
            raise ValueError(f"--approach {wanted!r}: matches {matches} of {list(results)}")
        return matches[0]
    best = max(r["val_macro_f1"] for r in results.values())
    close = [name for name, r in results.items() if r["val_macro_f1"] >= best - MACRO_F1_TIE]
    return min(close, key=lambda name: results[name]["calibration"]["val_nll_after"])


def report(y: np.ndarray, predicted: np.ndarray, classes: tuple[str, ...]) -> dict:
    from babymon_lab.vision.metrics import classification_report

    return classification_report([classes[i] for i in y], [classes[i] for i in predicted], classes)


# -------------------------------------------------------------------------------------------- main steps

def posture_experiment(args, cache, log, keep: dict | None = None) -> tuple[dict, object]:
    """``keep``: when given, ``keep["posture"]`` gets the shipped head's training rows ({input: x}, y, classes)
    for the training sample a nursery refit starts from (``--training-sample``)."""
    from babymon.vision.pipeline import best_face
    from babymon.vision.pose import CROP_BODY_MARGIN, Pose, body_box
    from babymon.vision.posture import PostureModel
    from babymon.vision.posture_face import N_FACE_FEATURES, face_features, mirror_face
    from babymon.vision.posture_features import keypoint_features, mirror_keypoints
    from babymon_lab.vision.posture_extract import DEFAULT_CACHE
    from babymon_lab.vision.posture_extract import with_faces as image_features

    use_overhead = bool(getattr(args, "overhead", False))
    classes = OVERHEAD_CLASSES if use_overhead else IMAGE_CLASSES
    log(f"  classes {classes}: {'with' if use_overhead else 'without'} the labelled overhead photos")
    posture = split_images(read_posture_images(args.data), args.seed)
    overhead = split_images(read_overhead_images(args.data) if use_overhead else read_face_down_images(args.data),
                            args.seed)
    splits = {name: posture[name] + overhead[name] for name in posture}
    feats = {name: image_features([im.path for im in rows], cache) for name, rows in splits.items()}
    labels = {name: np.array([classes.index(im.label) for im in rows]) for name, rows in splits.items()}
    is_face_down = {name: np.array([im.source == "face_down" for im in rows]) for name, rows in splits.items()}
    is_overhead = {name: np.array([im.source != "infant_posture" for im in rows]) for name, rows in splits.items()}
    rot_folder = (args.cache or DEFAULT_CACHE)
    # Turned copies (90°, 180°, 270°) of the training photos, and val turned 90°.
    turned = {turns: image_features(rotated_copies([im.path for im in splits["train"]],
                                                   rot_folder / f"rot{90 * turns}", turns), cache)
              for turns in (1, 2, 3)}
    val_turned = image_features(rotated_copies([im.path for im in posture["val"]], rot_folder / "rot90", 1), cache)
    posture_train_labels = labels["train"]

    def stack(feature_list, mirrored: bool = False) -> dict[str, np.ndarray]:
        kp, whole, box, face = [], [], [], []
        for f in feature_list:
            pose = f.record.chosen
            points, scores = pose.keypoints, pose.scores
            width, height = f.record.width, f.record.height
            found = best_face(f.faces, body_box(pose, width, height))  # as the pipeline picks it
            if mirrored:
                points, scores = mirror_keypoints(points, scores, width)
                found = None if found is None else mirror_face(found, width)
            seen = Pose(points, scores)
            kp.append(keypoint_features(points, scores))
            face.append(face_features(found, seen, body_box(seen, width, height, margin=CROP_BODY_MARGIN),
                                      width, height))
            whole.append(f.whole_mirror if mirrored else f.whole)
            box.append(f.crop_mirror if mirrored else f.crop)
        kp_a, whole_a, box_a, face_a = np.array(kp), np.array(whole), np.array(box), np.array(face)
        return {"keypoints": kp_a, "image_whole": whole_a, "image_box": box_a, "face": face_a,
                "concat_whole": np.hstack([whole_a, kp_a]), "concat_box": np.hstack([box_a, kp_a]),
                "keypoints_face": np.hstack([kp_a, face_a]),
                "concat_face_whole": np.hstack([whole_a, kp_a, face_a]),
                "concat_face_box": np.hstack([box_a, kp_a, face_a])}

    # Night-vision look-alikes of every training photo (and of val and test, to measure): IR cameras are how
    # most nurseries are watched at night, and the photos here are all in colour.
    ir = {name: image_features(ir_copies([im.path for im in rows], rot_folder / f"ir_{name}", args.seed), cache)
          for name, rows in splits.items()}

    crib = {name: image_features(crib_copies([im.path for im in rows], rot_folder / f"crib_{name}", args.seed), cache)
            for name, rows in splits.items()}

    def training_set(policy: str, with_ir: bool = True, with_crib: bool = False) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Originals and mirrors, IR look-alikes and their mirrors (``with_ir``), crib-camera look-alikes and
        their mirrors (``with_crib``), plus turned copies of the classes ``policy`` names ("none", "lying", "all")."""
        parts = [stack(feats["train"]), stack(feats["train"], mirrored=True)]
        ys = [labels["train"], labels["train"]]
        if with_ir:
            parts += [stack(ir["train"]), stack(ir["train"], mirrored=True)]
            ys += [labels["train"], labels["train"]]
        if with_crib:
            parts += [stack(crib["train"]), stack(crib["train"], mirrored=True)]
            ys += [labels["train"], labels["train"]]
        if policy != "none":
            keep = np.isin(posture_train_labels, [classes.index(c) for c in
                                                  ([c for c in LYING_CLASSES if c in classes]
                                                   if policy == "lying" else classes)])
            for turns in (1, 2, 3):
                parts.append(stack([f for f, k in zip(turned[turns], keep, strict=True) if k]))
                ys.append(posture_train_labels[keep])
        return {k: np.vstack([p[k] for p in parts]) for k in parts[0]}, np.concatenate(ys)

    test_turned = image_features(rotated_copies([im.path for im in posture["test"]], rot_folder / "rot90", 1), cache)
    val, test, val_rot, test_rot = stack(feats["val"]), stack(feats["test"]), stack(val_turned), stack(test_turned)
    test_rot_labels = np.array([classes.index(im.label) for im in posture["test"]])
    val_rot_labels = np.array([classes.index(im.label) for im in posture["val"]])
    prone = classes.index("prone")

    # Rotation augmentation, chosen on val as photographed and on val's LYING photos turned 90° (an overhead
    # camera sees a lying baby at any angle; no camera sees a sitting or standing baby turned sideways, so
    # turned sitting/standing photos are not a case to optimise for), with the early-fusion head on the crop.
    augmentation = {}
    lying_present = [c for c in LYING_CLASSES if c in classes and np.any(val_rot_labels == classes.index(c))]
    lying_rot = np.isin(val_rot_labels, [classes.index(c) for c in lying_present])
    for policy in ("none", "lying", "all"):
        x, y = training_set(policy)
        head = fit_head(x["concat_box"], y, 0.01, seed=args.seed)
        f1 = macro_f1(labels["val"], head.logits(val["concat_box"]).argmax(1), len(classes))
        rot_pred = head.logits(val_rot["concat_box"]).argmax(1)
        f1_rot = macro_f1(val_rot_labels, rot_pred, len(classes))
        lying_recall = float(np.mean([np.mean(rot_pred[val_rot_labels == classes.index(c)] == classes.index(c))
                                      for c in lying_present]))
        augmentation[policy] = {"val_macro_f1": f1, "val_rot90_macro_f1": f1_rot,
                                "val_rot90_lying_mean_recall": lying_recall}
        log(f"  turned copies of {policy:5s} training photos: val macro-F1 {f1:.3f}, val turned 90° {f1_rot:.3f}, "
            f"val lying photos turned 90°: mean supine/prone recall {lying_recall:.3f} ({int(lying_rot.sum())})")
    policy = max(augmentation,
                 key=lambda k: augmentation[k]["val_macro_f1"] + augmentation[k]["val_rot90_lying_mean_recall"])
    log(f"  augmentation chosen: {policy}")
    val_ir, test_ir = stack(ir["val"]), stack(ir["test"])
    ir_choice = {}
    for with_ir in (False, True):
        x, y = training_set(policy, with_ir)
        head = fit_head(x["concat_box"], y, 0.01, seed=args.seed)
        ir_pred = head.logits(val_ir["concat_box"]).argmax(1)
        ir_choice[with_ir] = {"val_macro_f1": macro_f1(labels["val"], head.logits(val["concat_box"]).argmax(1),
                                                       len(classes)),
                              "val_ir_macro_f1": macro_f1(labels["val"], ir_pred, len(classes)),
                              "val_ir_prone_recall": float(np.mean(ir_pred[labels["val"] == prone] == prone))}
        log(f"  IR look-alike copies {'with' if with_ir else 'without':7s}: val macro-F1 "
            f"{ir_choice[with_ir]['val_macro_f1']:.3f}, val IR look-alikes macro-F1 "
            f"{ir_choice[with_ir]['val_ir_macro_f1']:.3f}, prone recall {ir_choice[with_ir]['val_ir_prone_recall']:.3f}")
    use_ir = max(ir_choice, key=lambda k: ir_choice[k]["val_macro_f1"] + ir_choice[k]["val_ir_macro_f1"])
    log(f"  IR look-alike copies chosen: {use_ir}")
    val_crib, test_crib = stack(crib["val"]), stack(crib["test"])
    crib_choice = {}
    for with_crib in (False, True):
        x, y = training_set(policy, use_ir, with_crib)
        head = fit_head(x["concat_box"], y, 0.01, seed=args.seed)
        crib_pred = head.logits(val_crib["concat_box"]).argmax(1)
        crib_choice[with_crib] = {
            "val_macro_f1": macro_f1(labels["val"], head.logits(val["concat_box"]).argmax(1), len(classes)),
            "val_crib_macro_f1": macro_f1(labels["val"], crib_pred, len(classes)),
            "val_crib_prone_recall": float(np.mean(crib_pred[labels["val"] == prone] == prone))}
        log(f"  crib-camera look-alike copies {'with' if with_crib else 'without':7s}: val macro-F1 "
            f"{crib_choice[with_crib]['val_macro_f1']:.3f}, val crib look-alikes macro-F1 "
            f"{crib_choice[with_crib]['val_crib_macro_f1']:.3f}, prone recall "
            f"{crib_choice[with_crib]['val_crib_prone_recall']:.3f}")
    use_crib = max(crib_choice, key=lambda k: crib_choice[k]["val_macro_f1"] + crib_choice[k]["val_crib_macro_f1"])
    log(f"  crib-camera look-alike copies chosen: {use_crib}")
    train, y_train = training_set(policy, use_ir, use_crib)

    heads, val_logits, chosen_c = {}, {}, {}

    def fit_on_val(feature: str, face_weights: tuple[float, ...] = (1.0,), last: int = 0) -> tuple:
        """The head with the best val macro-F1 over C (and the weight on the ``last`` columns):
        (score, C, head, val logits, weight)."""
        best = None
        for weight in face_weights:
            for c in C_GRID:
                head = fit_head(train[feature], y_train, c, seed=args.seed, last=last, weight=weight)
                logits = head.logits(val[feature])
                score = macro_f1(labels["val"], logits.argmax(1), len(classes))
                if best is None or score > best[0]:
                    best = (score, c, head, logits, weight)
        heads[feature], chosen_c[feature], val_logits[feature] = best[2], best[1], best[3]
        return best

    for feature in ("keypoints", "image_whole", "image_box", "concat_whole", "concat_box"):
        score, c, *_ = fit_on_val(feature)
        log(f"  {feature:13s} C={c:<6} val macro-F1 {score:.3f}")
    # Face features: C and their weight (a weaker penalty on the few face columns) chosen on val.
    face_choice = {}
    for feature in ("keypoints_face", "concat_face_whole", "concat_face_box"):
        score, c, _, _, weight = fit_on_val(feature, FACE_WEIGHTS, last=N_FACE_FEATURES)
        face_choice[feature] = {"C": c, "face_weight": weight}
        log(f"  {feature:17s} C={c:<6} face weight {weight}: val macro-F1 {score:.3f}")

    # Each approach as (heads by runtime input name, weights, crop).
    better_on_val = "box" if macro_f1(labels["val"], val_logits["image_box"].argmax(1), len(classes)) >= \
        macro_f1(labels["val"], val_logits["image_whole"].argmax(1), len(classes)) else "whole"
    crop = better_on_val if getattr(args, "crop", "box") == "val" else getattr(args, "crop", "box")
    log(f"  image crop for the fused heads: {crop} (better on val: {better_on_val})")

    def late_fusion_weight(other: str) -> float:
        """The weight on the image logits (the rest on ``other``'s) with the best val macro-F1."""
        best_alpha, best_score = 0.5, -1.0
        for alpha in ALPHA_GRID:
            logits = alpha * val_logits[f"image_{crop}"] + (1 - alpha) * val_logits[other]
            score = macro_f1(labels["val"], logits.argmax(1), len(classes))
            if score > best_score:
                best_alpha, best_score = alpha, score
        return best_alpha

    best_alpha = late_fusion_weight("keypoints")
    log(f"  late fusion weight on the image logits (val): {best_alpha}")
    face_alpha = late_fusion_weight("keypoints_face")
    log(f"  late fusion with face features, weight on the image logits (val): {face_alpha}")
    approaches = {
        "image (whole image)": ({"image": heads["image_whole"]}, {"image": 1.0}, "whole", {"image": "image_whole"}),
        "image (body-box crop)": ({"image": heads["image_box"]}, {"image": 1.0}, "box", {"image": "image_box"}),
        "keypoints": ({"keypoints": heads["keypoints"]}, {"keypoints": 1.0}, crop, {"keypoints": "keypoints"}),
        "fusion, early (one head on both)": ({"concat": heads[f"concat_{crop}"]}, {"concat": 1.0}, crop,
                                             {"concat": f"concat_{crop}"}),
        "fusion, late (logits added)": ({"image": heads[f"image_{crop}"], "keypoints": heads["keypoints"]},
                                        {"image": best_alpha, "keypoints": 1 - best_alpha}, crop,
                                        {"image": f"image_{crop}", "keypoints": "keypoints"}),
        "fusion, late + face (image logits + keypoint-and-face logits)": (
            {"image": heads[f"image_{crop}"], "keypoints_face": heads["keypoints_face"]},
            {"image": face_alpha, "keypoints_face": 1 - face_alpha}, crop,
            {"image": f"image_{crop}", "keypoints_face": "keypoints_face"}),
        "fusion, early + face (one head on embedding, keypoints, face)": (
            {"concat_face": heads[f"concat_face_{crop}"]}, {"concat_face": 1.0}, crop,
            {"concat_face": f"concat_face_{crop}"}),
    }
    results, models = {}, {}
    for name, (approach_heads, weights, approach_crop, columns) in approaches.items():
        def logits_of(split_inputs, approach_heads=approach_heads, weights=weights, columns=columns):
            return sum(weights[k] * h.logits(split_inputs[columns[k]]) for k, h in approach_heads.items())

        raw_val, raw_test = logits_of(val), logits_of(test)
        temperature = fit_temperature(raw_val, labels["val"])
        vl = raw_val / temperature
        bias = np.zeros(len(classes))
        # prone recall is the safety number: the bias is set on val as photographed and as IR look-alikes
        bias[prone] = prone_bias(np.vstack([vl, logits_of(val_ir) / temperature]),
                                 np.concatenate([labels["val"], labels["val"]]), prone)
        model = PostureModel(classes=classes, heads=approach_heads, weights=weights, bias=bias, crop=approach_crop,
                             temperature=temperature)
        tl = raw_test / temperature + bias
        test_pred = tl.argmax(1)
        rot_pred = (logits_of(test_rot) / temperature + bias).argmax(1)
        ir_pred = (logits_of(test_ir) / temperature + bias).argmax(1)
        val_pred = (vl + bias).argmax(1)
        calibration = {"temperature": temperature,
                       "val_nll_before": nll(raw_val, labels["val"]), "val_nll_after": nll(vl, labels["val"]),
                       "val_ece_before": ece(raw_val, labels["val"]), "val_ece_after": ece(vl, labels["val"]),
                       "test_nll_before": nll(raw_test, labels["test"]),
                       "test_nll_after": nll(raw_test / temperature, labels["test"]),
                       "test_ece_before": ece(raw_test, labels["test"]),
                       "test_ece_after": ece(raw_test / temperature, labels["test"]),
                       "test_nll_shipped_with_prone_bias": nll(tl, labels["test"]),
                       "test_ece_shipped_with_prone_bias": ece(tl, labels["test"])}
        fd = is_face_down["test"]
        results[name] = {
            "val_macro_f1": macro_f1(labels["val"], val_pred, len(classes)),
            "val_prone_recall": float(np.mean(val_pred[labels["val"] == prone] == prone)),
            "prone_bias": float(bias[prone]),
            "calibration": calibration,
            "C": {k: chosen_c[columns[k]] for k in approach_heads},
            "weights": weights,
            "test": report(labels["test"], test_pred, classes),
            "test_infant_posture_only": report(labels["test"][~is_overhead["test"]], test_pred[~is_overhead["test"]],
                                               classes),
            "test_face_down_prone_recall": float(np.mean(test_pred[fd] == prone)) if fd.any() else None,
            "test_overhead": (report(labels["test"][is_overhead["test"]], test_pred[is_overhead["test"]], classes)
                              if use_overhead else None),
            "test_infant_posture_turned_90": report(test_rot_labels, rot_pred, classes),
            "test_ir_like": report(labels["test"], ir_pred, classes),
            "test_crib_like": report(labels["test"], (logits_of(test_crib) / temperature + bias).argmax(1), classes),
        }
        models[name] = model
        r = results[name]
        t = r["test"]
        log(f"  {name:34s} val F1 {r['val_macro_f1']:.3f} | test macro-F1 {t['macro_f1']:.3f} "
            f"acc {t['accuracy']:.3f} prone recall {t['per_class']['prone']['recall']:.3f} | infant_posture only "
            f"{r['test_infant_posture_only']['macro_f1']:.3f}, face-down prone recall "
            f"{r['test_face_down_prone_recall']:.3f}, turned 90° {r['test_infant_posture_turned_90']['macro_f1']:.3f}, "
            f"IR look-alikes {r['test_ir_like']['macro_f1']:.3f} / prone {r['test_ir_like']['per_class']['prone']['recall']:.3f} "
            f"(prone bias {bias[prone]:.1f}, T {temperature:.2f}: val NLL {calibration['val_nll_before']:.3f} → "
            f"{calibration['val_nll_after']:.3f}, test NLL {calibration['test_nll_before']:.3f} → "
            f"{calibration['test_nll_after']:.3f}, ECE {calibration['test_ece_before']:.3f} → "
            f"{calibration['test_ece_after']:.3f})")
    shipped = choose_approach(results, getattr(args, "approach", None))
    log(f"  shipped: {shipped}")
    if keep is not None:
        columns = approaches[shipped][3]
        keep["posture"] = ({name: train[column] for name, column in columns.items()}, y_train, classes,
                           {name: chosen_c[column] for name, column in columns.items()},
                           {name: face_choice.get(column, {}).get("face_weight", 1.0) for name, column in columns.items()})
    summary = {"split": {"seed": args.seed, "fractions": [0.7, 0.15, 0.15],
                         "by": "infant_posture dup_group; face_down_vs_not photo (name before .rf.)",
                         "images": {k: len(v) for k, v in splits.items()},
                         "face_down_images": {k: int(v.sum()) for k, v in is_face_down.items()},
                         "per_class": {k: {c: int(np.sum(labels[k] == i)) for i, c in enumerate(classes)}
                                       for k in splits}},
               "augmentation": {"chosen": policy, "compared": augmentation,
                                "ir_look_alikes": {"chosen": use_ir, "compared": {str(k): v for k, v in ir_choice.items()}},
                                "crib_look_alikes": {"chosen": use_crib,
                                                     "compared": {str(k): v for k, v in crib_choice.items()}}},
               "overhead_photos": use_overhead,
               "approaches": results, "shipped": shipped, "image_crop": crop, "face_heads": face_choice,
               "face_features": "YuNetDetector() (quarter turns, score >= 0.6) on the whole image; best face on "
                                "the body box as the pipeline picks it; babymon.vision.posture_face"}
    return summary, models[shipped]


def side_experiment(args, cache, log, model) -> tuple[dict, object]:
    """Side vs lying (supine + prone) on MediaPipe rows; the gate chosen so few lying val images become side."""
    from babymon.vision.posture import SideModel
    from babymon.vision.posture_features import side_features
    from babymon_lab.vision.posture_extract import image_features

    folder = args.data / KEYPOINTS_DIR
    train_points, train_labels = read_keypoint_rows(folder / "data_raw.csv")
    test_points, test_labels = read_keypoint_rows(folder / "data_testing_raw.csv")
    x_train = np.array([side_features(p) for p in train_points])
    x_test = np.array([side_features(p) for p in test_points])
    y_train = np.array([label == "side" for label in train_labels], dtype=int)
    y_test = np.array([label == "side" for label in test_labels], dtype=int)
    head = fit_head(x_train, y_train, 1.0, seed=args.seed)
    # Binary logistic: one logit row; fold the standardisation into plain weights for side.json.
    weights, bias = (v[0] for v in head.folded())
    bias = float(bias)
    p_test = 1 / (1 + np.exp(-(x_test @ weights + bias)))

    # On lying val images (MoveNet keypoints), how often would side win?
    images = split_images(read_posture_images(args.data), args.seed)["val"]
    feats = image_features([im.path for im in images], cache)
    lying = [f.record.chosen for im, f in zip(images, feats, strict=True) if im.label in ("supine", "prone")]
    results = {}
    chosen = None
    for min_probability in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        side = SideModel(weights=weights, bias=bias, min_keypoint_score=0.3, min_probability=min_probability)
        false_side = float(np.mean([side.probability(p) > 0.5 for p in lying])) if lying else 0.0
        recall = float(np.mean(p_test[y_test == 1] >= min_probability))
        fa = float(np.mean(p_test[y_test == 0] >= min_probability))
        results[str(min_probability)] = {"csv_test_side_recall": recall, "csv_test_lying_called_side": fa,
                                         "val_lying_images_called_side": false_side}
        log(f"  side gate {min_probability}: keypoints_csv test side recall {recall:.3f}, lying rows called side "
            f"{fa:.3f}; lying val images called side {false_side:.3f}")
        if chosen is None and false_side <= 0.03:
            chosen = side
    chosen = chosen or SideModel(weights=weights, bias=bias, min_keypoint_score=0.3, min_probability=0.95)
    from sklearn.metrics import roc_auc_score

    summary = {"train": "keypoints_csv/data_raw.csv (MediaPipe landmarks mapped to COCO-17; side vs supine+prone)",
               "test": "keypoints_csv/data_testing_raw.csv", "n_train": int(len(y_train)), "n_test": int(len(y_test)),
               "csv_test_roc_auc": float(roc_auc_score(y_test, p_test)), "gates": results,
               "shipped_gate": chosen.min_probability}
    log(f"  side model ROC AUC on data_testing_raw.csv {summary['csv_test_roc_auc']:.3f}; gate {chosen.min_probability}")
    return summary, chosen


def presence_experiment(args, cache, log, keep: dict | None = None) -> tuple[dict, object]:
    """Presence from keypoint confidences alone, and with the body crop's embedding; ships the latter when it
    is better on held-out false alarms at the same recall target. ``keep["presence"]``: the shipped model's
    training rows (x, y), as in :func:`posture_experiment`."""
    from babymon.vision.pose import PresenceModel, body_box, presence_features
    from babymon_lab.vision.posture_extract import DEFAULT_CACHE, image_features, presence_records

    items = presence_items(args.data)
    items += inpainted_negatives(args.data, (args.cache or DEFAULT_CACHE) / "inpainted")
    items += occluded_positives(args.data, (args.cache or DEFAULT_CACHE) / "occluded")
    records = presence_records([(it.path, it.crop) for it in items], cache)
    kp = [presence_features(r.chosen.scores) for r, _ in records]
    emb = [e for _, e in records]
    origins = [(it.path, it.crop) for it in items]  # each row's image, for the IR look-alikes (--ir)
    sources = [it.source for it in items]
    y = [int(it.present) for it in items]
    split = [presence_split(it.group, args.seed) for it in items]
    # The posture photos are babies too (many prone or under blankets, the cases that matter): positives,
    # split as the posture heads are.
    posture_split = split_images(read_posture_images(args.data), args.seed)
    groups = [it.group for it in items]
    for name, rows in posture_split.items():
        features = image_features([im.path for im in rows], cache)
        for im, f in zip(rows, features, strict=True):
            kp.append(presence_features(f.record.chosen.scores))
            emb.append(f.crop)
            origins.append((im.path, None))
            sources.append(f"infant_posture {im.label}")
            y.append(1)
            split.append("train" if name == "train" else "test")
            groups.append(f"posture/{im.group}")
        # the same crib photos with the baby inpainted out: empty cribs, on the same side of the split
        boxes = [body_box(f.record.chosen, f.record.width, f.record.height) for f in features]
        empties = empty_crib_negatives(rows, boxes, (args.cache or DEFAULT_CACHE) / "empty_cribs")
        for it, (record, embedding) in zip(empties, presence_records([(it.path, None) for it in empties], cache),
                                           strict=True):
            kp.append(presence_features(record.chosen.scores))
            emb.append(embedding)
            origins.append((it.path, None))
            sources.append(it.source)
            y.append(0)
            split.append("train" if name == "train" else "test")
            groups.append(it.group)
    if getattr(args, "ir", False):
        # Every row again as a night-vision look-alike, same label, split and group: nurseries are watched in IR
        # at night, and every photo here is in colour (the posture heads train on such copies too).
        copies = ir_copies([path for path, _ in origins], (args.cache or DEFAULT_CACHE) / "presence_ir", args.seed,
                           name=by_full_path)
        ir_records = presence_records([(copy, crop) for copy, (_, crop) in zip(copies, origins, strict=True)], cache,
                                      desc="presence features, IR look-alikes")
        for row, (record, embedding) in enumerate(list(ir_records)):
            kp.append(presence_features(record.chosen.scores))
            emb.append(embedding)
            sources.append(f"{sources[row]} (IR look-alike)")
            y.append(y[row])
            split.append(split[row])
            groups.append(groups[row])
    if getattr(args, "crib_scale", False):
        # Crib-scale copies of the posture photos and empty beds, seen where the locator looks at run time (the
        # finder's focus): small babies the presence head otherwise calls "no baby" (babymon_lab.vision.crib_scale).
        from babymon_lab.vision.crib_scale import presence_frames

        frames = presence_frames(args.data, (args.cache or DEFAULT_CACHE) / "crib_scale", args.seed)
        for frame, (record, embedding) in zip(frames, presence_records([(f.path, f.crop) for f in frames], cache,
                                                                       desc="crib-scale presence"), strict=True):
            kp.append(presence_features(record.chosen.scores))
            emb.append(embedding)
            sources.append(frame.source)
            y.append(int(frame.present))
            split.append(frame.split)
            groups.append(frame.group)
    kp_a, emb_a, y_a = np.array(kp), np.array(emb), np.array(y)
    split_a, sources_a = np.array(split), np.array(sources)
    train = split_a == "train"

    def fit(x: np.ndarray, c: float) -> tuple[np.ndarray, float, np.ndarray]:
        head = fit_head(x[train], y_a[train], c, seed=args.seed)
        weights, bias = (v[0] for v in head.folded())
        bias = float(bias)
        return weights, bias, 1 / (1 + np.exp(-np.clip(x @ weights + bias, -50, 50)))

    groups_a = np.array(groups)

    def out_of_fold(x: np.ndarray, c: float) -> np.ndarray:
        """Scores of the training rows from models that did not see their group (5 folds): the threshold is
        set on these, not on scores the model was fitted to (which are overconfident)."""
        from sklearn.model_selection import GroupKFold

        idx = np.flatnonzero(train)
        scores = np.zeros(len(idx))
        for fit_rows, held in GroupKFold(n_splits=5).split(idx, groups=groups_a[idx]):
            head = fit_head(x[idx[fit_rows]], y_a[idx[fit_rows]], c, seed=args.seed)
            scores[held] = softmax_binary(head.logits(x[idx[held]]))
        return scores

    candidates = {"keypoint confidences": (kp_a, 1.0, False),
                  "keypoint confidences + body-crop embedding": (np.hstack([kp_a, emb_a]), 0.01, True)}
    results, models = {}, {}
    for name, (x, c, uses_embedding) in candidates.items():
        weights, bias, p = fit(x, c)
        oof = out_of_fold(x, c)
        train_pos = np.sort(oof[y_a[train] == 1])
        threshold = float(train_pos[int(np.floor((1 - PRESENCE_RECALL_TARGET) * len(train_pos)))])
        threshold = min(threshold, 0.5)
        per_source = rates_by_source(p, threshold, y_a, sources_a, ~train)
        oof_false_alarm = float(np.mean(oof[y_a[train] == 0] >= threshold))
        test = ~train
        recall = float(np.mean(p[test & (y_a == 1)] >= threshold))
        false_alarm = float(np.mean(p[test & (y_a == 0)] >= threshold))
        results[name] = {"threshold": threshold, "test_recall": recall, "test_false_alarm_rate": false_alarm,
                         "out_of_fold_train_false_alarm_rate": oof_false_alarm, "per_source": per_source}
        models[name] = PresenceModel(weights=weights, bias=bias, threshold=threshold, uses_embedding=uses_embedding)
        log(f"  presence, {name}: held-out recall {recall:.3f}, false alarms {false_alarm:.3f} "
            f"(threshold {threshold:.3f}: {PRESENCE_RECALL_TARGET:.0%} out-of-fold recall on train)")
        for source, numbers in per_source.items():
            log(f"      {source:34s} {json.dumps(numbers)}")
    shipped = min(results, key=lambda k: results[k]["out_of_fold_train_false_alarm_rate"])  # same recall target
    log(f"  presence shipped: {shipped}")
    before = shipped_presence_rates(np.hstack([kp_a, emb_a]), y_a, sources_a, ~train)
    if before:
        log("  the presence model in models/posture on the same held-out rows (before):")
        for source, numbers in before.items():
            log(f"      {source:34s} {json.dumps(numbers)}")
    if keep is not None:
        keep["presence"] = (candidates[shipped][0][train], y_a[train], candidates[shipped][1])
    summary = {"approaches": results, "shipped": shipped, "recall_target_on_train": PRESENCE_RECALL_TARGET,
               "n_train": int(train.sum()), "n_test": int((~train).sum()),
               "boxes": box_numbers(items, [r for r, _ in records], args.seed)}
    log(f"  boxes: {json.dumps({k: round(v, 3) for k, v in summary['boxes'].items()})}")
    return summary, models[shipped]


def rates_by_source(p: np.ndarray, threshold: float, y: np.ndarray, sources: np.ndarray, rows: np.ndarray) -> dict:
    """Per source among ``rows``: its size and the share of scores ``p`` at or above ``threshold`` (recall for a
    source of babies, false-alarm rate for one without)."""
    out = {}
    for source in sorted(set(sources[rows])):
        mask = rows & (sources == source)
        key = "recall" if bool(y[mask].all()) else "false_alarm_rate"
        out[source] = {"n": int(mask.sum()), key: float(np.mean(p[mask] >= threshold))}
    return out


def shipped_presence_rates(x: np.ndarray, y: np.ndarray, sources: np.ndarray, held_out: np.ndarray) -> dict:
    """The committed presence model (``models/posture/presence.json``) on the held-out rows, per source, at its own
    threshold: the "before" of a retraining, on exactly the rows the new model is scored on. {} without one."""
    from babymon.vision.pose import PRESENCE_FILE, PresenceModel

    if not PRESENCE_FILE.is_file():
        return {}
    model = PresenceModel.load(PRESENCE_FILE)
    if not model.uses_embedding or len(model.weights) != x.shape[1]:
        return {}
    p = 1 / (1 + np.exp(-np.clip(x @ model.weights + model.bias, -50, 50)))
    return rates_by_source(p, model.threshold, y, sources, held_out)


def box_numbers(items, records, seed: int) -> dict:
    """Body boxes against infant_detection's baby boxes, head boxes against infant_face_parts' HEAD boxes
    (held-out groups only)."""
    from babymon.vision.geometry import centre, contains, iou
    from babymon.vision.pose import body_box, head_box

    box_iou, head_hits, head_iou = [], [], []
    for it, r in zip(items, records, strict=True):
        if not it.present or presence_split(it.group, seed) != "test":
            continue
        pose = r.chosen
        if it.source == "infant_detection" and it.boxes:
            b = body_box(pose, r.width, r.height)
            box_iou.append(0.0 if b is None else iou(b, it.boxes[0]))
        for h in it.heads[:1]:
            hb = head_box(pose, r.width, r.height)
            head_hits.append(hb is not None and contains(h, centre(hb)))
            head_iou.append(0.0 if hb is None else iou(hb, h))
    return {"infant_detection_body_box_mean_iou": float(np.mean(box_iou)),
            "infant_detection_body_box_iou_ge_0.5": float(np.mean(np.array(box_iou) >= 0.5)),
            "infant_face_parts_head_box_centre_in_head": float(np.mean(head_hits)),
            "infant_face_parts_head_box_mean_iou": float(np.mean(head_iou)),
            "n_body": len(box_iou), "n_head": len(head_hits)}


def predict_cached(model, side, feats) -> list[str]:
    """The shipped classifier's answer from cached features (``posture.posture_probabilities``, as
    PostureClassifier.predict computes it)."""
    from babymon.vision.pipeline import argmax, best_face
    from babymon.vision.pose import CROP_BODY_MARGIN, body_box
    from babymon.vision.posture import posture_probabilities
    from babymon.vision.posture_face import face_features
    from babymon.vision.posture_features import keypoint_features

    out = []
    for f in feats:
        pose = f.record.chosen
        width, height = f.record.width, f.record.height
        face = face_features(best_face(f.faces or [], body_box(pose, width, height)), pose,
                             body_box(pose, width, height, margin=CROP_BODY_MARGIN), width, height)
        embedding = f.crop if model.crop == "box" else f.whole
        out.append(argmax(posture_probabilities(model, side, keypoint_features(pose.keypoints, pose.scores), face,
                                                embedding, pose)))
    return out


def derived_copies(paths: list[Path], folder: Path, make, name=None) -> list[Path]:
    """``make(path, image)`` of each image, written once to ``folder`` (a temp folder, never the repository)
    as JPEG and reused by later runs; returns the copies' paths. ``name(path)``: the copy's file name (default
    ``<folder of the image>_<file name>``); a path listed twice is written once."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for path in paths:
        target = folder / (name(path) if name else f"{path.parent.name}_{path.name}")
        if not target.is_file():
            cv2.imwrite(str(target), make(path, cv2.imread(str(path))), [cv2.IMWRITE_JPEG_QUALITY, 95])
        out.append(target)
    return out


def by_full_path(path: Path) -> str:
    """A copy's file name that stays unique across datasets whose files share folder and file names."""
    import hashlib

    return f"{hashlib.sha1(str(path).encode()).hexdigest()[:16]}_{path.name}"


def ir_copies(paths: list[Path], folder: Path, seed: int, name=None) -> list[Path]:
    """Night-vision look-alikes (``crops.ir_like`` with contrast, brightness and noise drawn per file); ``name``
    as in :func:`derived_copies`."""
    from babymon.vision.crops import ir_like
    from babymon_lab.vision.face_state_data import file_seed

    return derived_copies(paths, folder, lambda path, image: ir_like(image, np.random.default_rng([seed, file_seed(path)])),
                          name)


def crib_camera_look(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of a close-up photo as a cheap crib camera would show the baby: seen small (the longer side
    shrunk to 80–200 px and enlarged back), blurred, JPEG-compressed (quality 20–50), through crib rails on
    half of the copies (vertical bars, white, wood or grey, 3–6 % wide, every 12–20 %) and as night vision on
    a third (``crops.ir_like``)."""
    import cv2

    from babymon.vision.crops import ir_like

    height, width = image.shape[:2]
    out = image.copy()
    if rng.random() < 0.5:
        period = rng.uniform(0.12, 0.20) * width
        bar = rng.uniform(0.03, 0.06) * width
        colour = [(235, 235, 235), (70, 120, 170), (128, 128, 128)][int(rng.integers(3))]
        shade = np.array(colour, dtype=np.float32) * rng.uniform(0.8, 1.1)
        x = rng.uniform(0, period)
        while x < width:
            x1, x2 = int(x), int(min(x + bar, width))
            out[:, x1:x2] = np.clip(shade, 0, 255).astype(np.uint8)
            x += period
    side = rng.uniform(80, 200)
    scale = min(1.0, side / max(height, width))
    small = cv2.resize(out, (max(8, int(width * scale)), max(8, int(height * scale))), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        small = cv2.GaussianBlur(small, (3, 3), rng.uniform(0.5, 1.2))
    ok, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 51))])
    small = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    out = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return ir_like(out, rng) if rng.random() < 1 / 3 else out


def crib_copies(paths: list[Path], folder: Path, seed: int) -> list[Path]:
    """Crib-camera look-alikes (:func:`crib_camera_look`, drawn per file)."""
    from babymon_lab.vision.face_state_data import file_seed

    return derived_copies(paths, folder, lambda path, image: crib_camera_look(
        image, np.random.default_rng([seed, file_seed(path), 7])))


def rotated_copies(paths: list[Path], folder: Path, quarter_turns: int) -> list[Path]:
    """Copies turned ``quarter_turns`` × 90° clockwise."""
    from babymon.vision.face import rotate_image
    from babymon.vision.geometry import Rotation

    return derived_copies(paths, folder, lambda path, image: rotate_image(
        image, Rotation(90.0 * quarter_turns, image.shape[1], image.shape[0])))


def external_checks(args, cache, log, model, side) -> dict:
    """Beyond the held-out split: the test images turned 90° (an overhead camera with the baby lying across
    the frame), face_down_vs_not (overhead sleeping babies: face-down should read prone) and infant_detection
    (overhead lying babies: should read lying, not sitting or standing)."""
    from collections import Counter

    from babymon.analyzers.base import POSTURES
    from babymon_lab.vision.metrics import classification_report
    from babymon_lab.vision.posture_extract import DEFAULT_CACHE
    from babymon_lab.vision.posture_extract import with_faces as image_features

    folder = args.cache or DEFAULT_CACHE
    out = {}
    test = split_images(read_posture_images(args.data), args.seed)["test"]
    truth = [im.label for im in test]
    for turns in (0, 1):
        paths = [im.path for im in test] if turns == 0 else rotated_copies([im.path for im in test],
                                                                          folder / "rot90", 1)
        predicted = predict_cached(model, side, image_features(paths, cache))
        rep = classification_report(truth, predicted, POSTURES)
        present = [c for c in POSTURES if rep["per_class"][c]["support"]]
        rep["macro_f1_over_present_classes"] = float(np.mean([rep["per_class"][c]["f1"] for c in present]))
        key = "test_as_shipped" if turns == 0 else "test_rotated_90"
        out[key] = rep
        log(f"  {key}: macro-F1 (4 classes with images) {rep['macro_f1_over_present_classes']:.3f}, "
            f"prone recall {rep['per_class']['prone']['recall']:.3f}, predicted side {sum(p == 'side' for p in predicted)}")
    face_down = args.data / "vision" / "face_down_vs_not"
    held_out = {im.path for im in split_images(read_face_down_images(args.data), args.seed)["test"]}
    groups: dict[str, list[Path]] = {"face_down (held-out photos)": sorted(held_out), "not_face_down": []}
    for label_file in sorted(face_down.glob("*/labels/*.txt")):  # class 1 photos: never used for training
        classes = {line.split()[0] for line in label_file.read_text().splitlines() if line.strip()}
        image = label_file.parent.parent / "images" / (label_file.stem + ".jpg")
        if image.is_file() and classes == {"1"}:
            groups["not_face_down"].append(image)
    for name, paths in groups.items():
        counts = Counter(predict_cached(model, side, image_features(paths, cache)))
        out[f"face_down_vs_not/{name}"] = {"n": len(paths), "predicted": dict(counts),
                                           "prone_rate": counts["prone"] / max(len(paths), 1)}
        log(f"  face_down_vs_not {name}: n={len(paths)} prone {counts['prone'] / max(len(paths), 1):.3f} {dict(counts)}")
    detection = sorted((args.data / "vision" / "infant_detection").glob("*/images/*.jpg"))
    counts = Counter(predict_cached(model, side, image_features(detection, cache)))
    lying = sum(counts[c] for c in ("supine", "prone", "side")) / max(len(detection), 1)
    out["infant_detection"] = {"n": len(detection), "predicted": dict(counts), "lying_rate": lying}
    log(f"  infant_detection (overhead, lying): n={len(detection)} lying {lying:.3f} {dict(counts)}")
    return out


def train_command(args: argparse.Namespace) -> int:
    from babymon_lab.vision.posture_extract import Cache

    # the flags' defaults (babymon_lab.commands leaves them None so that building the parser imports nothing)
    args.data = (args.data or DEFAULT_DATA).resolve()
    args.out = args.out or DEFAULT_OUT
    args.seed = SPLIT_SEED if args.seed is None else args.seed
    if not (args.data / "vision" / "infant_posture").is_dir():
        print(f"babymon: --data {args.data}: no vision/infant_posture there", file=sys.stderr)
        return 2
    cache = Cache(args.cache)
    started = time.time()

    def log(line: str) -> None:
        print(line, flush=True)

    if getattr(args, "presence_only", False):
        return presence_only(args, cache, log)

    log("posture heads (infant_posture, split by dup_group):")
    keep: dict = {}
    posture_summary, posture_model = posture_experiment(args, cache, log, keep)
    log("side model (keypoints_csv):")
    side_summary, side_model = side_experiment(args, cache, log, posture_model)
    log("presence model:")
    presence_summary, presence_model = presence_experiment(args, cache, log, keep)
    if getattr(args, "training_sample", None):
        from babymon_lab.vision.training_sample import save_posture_sample

        save_posture_sample(args.training_sample, keep, args.seed)
        log(f"wrote the training sample {args.training_sample}")
    log("external checks (shipped posture + side model):")
    external = external_checks(args, cache, log, posture_model, side_model)
    metrics = {"posture": posture_summary, "side": side_summary, "presence": presence_summary, "external": external,
               "seconds": round(time.time() - started, 1)}
    if args.compare_only:
        return 0
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    posture_model.save(out / "posture.npz")
    (out / "side.json").write_text(json.dumps(side_model.to_json(), indent=1) + "\n")
    (out / "presence.json").write_text(json.dumps(presence_model.to_json(), indent=1) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    from babymon.models import record_bundled

    record_bundled([out / "posture.npz", out / "side.json", out / "presence.json"])  # models/manifest.json
    log(f"wrote {out}/posture.npz, side.json, presence.json, metrics.json")
    return 0


def presence_only(args: argparse.Namespace, cache, log) -> int:
    """Refit the presence model alone: ``presence.json`` and the ``presence`` part of ``metrics.json`` in
    ``--out`` are rewritten, the posture and side heads are left as they are."""
    log("presence model:")
    summary, model = presence_experiment(args, cache, log)
    if args.compare_only:
        return 0
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics["presence"] = summary
    (out / "presence.json").write_text(json.dumps(model.to_json(), indent=1) + "\n")
    metrics_path.write_text(json.dumps(metrics, indent=1) + "\n")
    from babymon.models import record_bundled

    record_bundled([out / "presence.json"])
    log(f"wrote {out}/presence.json and the presence part of metrics.json")
    return 0


def main(argv: list[str] | None = None) -> int:
    from babymon_lab.commands import add_posture_train_arguments

    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.posture_train")
    add_posture_train_arguments(parser)
    return train_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
