"""``babymon train cry``: train the log-mel CNN and the YAMNet-embedding head on the noisy corpus, compare
them with YAMNet zero-shot on the same held-out split, and write the shipped weights and ``metrics.json``.

Needs PyTorch (training only; the shipped models run in numpy). One thread, seeded.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from babymon.cry.nets import YAMNET_WEIGHT, EmbeddingHead, LogMelCnn, combine_with_yamnet
from babymon_lab.cry.corpus import DEFAULT_CACHE, compute_features
from babymon_lab.cry.metrics import at_threshold, clip_score, roc_auc, threshold_for_fpr

TARGET_FPR = 0.02  # the shipped threshold is chosen on the validation split for this false-positive rate
APPROACHES = ("yamnet_zero_shot", "yamnet_head", "logmel_cnn", "logmel_cnn_yamnet", "logmel_cnn_yamnet_fusion")


def _torch():
    try:
        import torch
    except ImportError:
        raise SystemExit("training needs PyTorch: make install-train (or pip install -r requirements-train.txt)") from None
    torch.set_num_threads(1)
    return torch


def _cnn_module(torch):
    nn = torch.nn

    class Cnn(nn.Module):
        def __init__(self, channels=(16, 32, 48, 64)):
            super().__init__()
            layers, previous = [], 1
            for channel in channels:
                layers.append(nn.Sequential(nn.Conv2d(previous, channel, 3, padding=1, bias=False),
                                            nn.BatchNorm2d(channel), nn.ReLU()))
                previous = channel
            self.blocks = nn.ModuleList(layers)
            self.pool = nn.MaxPool2d(2)
            self.dropout = nn.Dropout(0.3)
            self.fc = nn.Linear(2 * previous, 1)

        def forward(self, x):
            x = x[:, None]
            for index, block in enumerate(self.blocks):
                x = block(x)
                if index < len(self.blocks) - 1:
                    x = self.pool(x)
            pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
            return self.fc(self.dropout(pooled)).squeeze(1)

    return Cnn()


def _head_module(torch, hidden: int = 64):
    nn = torch.nn
    return nn.Sequential(nn.Dropout(0.2), nn.Linear(1024, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, 1))


def export_cnn(model) -> dict[str, np.ndarray]:
    """Fold each batch norm into its convolution; plain arrays for :class:`LogMelCnn`."""
    weights = {}
    for index, block in enumerate(model.blocks):
        conv, bn = block[0], block[1]
        scale = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach().numpy()
        weights[f"conv{index}_w"] = (conv.weight.detach().numpy() * scale[:, None, None, None]).astype(np.float32)
        weights[f"conv{index}_b"] = (bn.bias.detach().numpy() - bn.running_mean.numpy() * scale).astype(np.float32)
    weights["fc_w"] = model.fc.weight.detach().numpy().reshape(-1).astype(np.float32)
    weights["fc_b"] = model.fc.bias.detach().numpy().reshape(-1).astype(np.float32)
    return weights


def export_head(model) -> dict[str, np.ndarray]:
    return {"w1": model[1].weight.detach().numpy().T.copy(), "b1": model[1].bias.detach().numpy(),
            "w2": model[4].weight.detach().numpy().reshape(-1), "b2": model[4].bias.detach().numpy()}


def clip_scores(data: dict[str, np.ndarray], window_probs: np.ndarray) -> np.ndarray:
    variants = data["window_variant"]
    n = len(data["variant_label"])
    bounds = np.searchsorted(variants, np.arange(n + 1))
    return np.array([clip_score(window_probs[bounds[i]:bounds[i + 1]]) for i in range(n)])


def _fit(torch, model, inputs: np.ndarray, labels: np.ndarray, epochs: int, batch: int, lr: float, seed: int,
         augment, on_epoch, desc: str):
    from tqdm import tqdm

    generator = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    steps = epochs * int(np.ceil(len(inputs) / batch))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    positive = labels.mean()
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((1 - positive) / positive, dtype=torch.float32))
    best = (-np.inf, None, -1)
    for epoch in range(epochs):
        model.train()
        order = generator.permutation(len(inputs))
        total = 0.0
        for start in tqdm(range(0, len(order), batch), desc=f"{desc} epoch {epoch + 1}/{epochs}", unit="batch",
                          leave=False):
            idx = order[start:start + batch]
            x = augment(inputs[idx].astype(np.float32), generator)
            y = torch.tensor(labels[idx], dtype=torch.float32)
            optimizer.zero_grad()
            loss = loss_fn(model(torch.from_numpy(x)).reshape(-1), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(idx)
        model.eval()
        score = on_epoch(model)
        print(f"{desc} epoch {epoch + 1}: train loss {total / len(order):.4f}, validation clip AUC {score:.4f}",
              flush=True)
        if score >= best[0]:
            best = (score, {k: v.clone() for k, v in model.state_dict().items()}, epoch + 1)
    model.load_state_dict(best[1])
    model.eval()
    return best[2]


def _tonal_negatives(clips: int, seed: int) -> np.ndarray:
    """Log-mel windows of synthetic sirens and melodies (harmonic sounds that are not crying), some in noise."""
    from babymon.cry.features import log_mel
    from babymon.cry.windows import clip_windows
    from babymon_lab.cry.mixing import melody, mix_at_snr, pink, siren

    rng = np.random.default_rng([seed, 99])
    windows = []
    for index in range(clips):
        sound = (siren if index % 2 else melody)(5 * 16000, rng)
        if rng.random() < 0.5:
            sound = mix_at_snr(sound, pink(len(sound), rng), float(rng.uniform(5, 20)))
        windows.append(clip_windows(sound * 0.3)[::2])
    return log_mel(np.concatenate(windows)).astype(np.float16)


def _spec_augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    for row in x:
        f = rng.integers(0, 9)
        f0 = rng.integers(0, row.shape[0] - f + 1)
        row[f0:f0 + f] = 0.0
        t = rng.integers(0, 16)
        t0 = rng.integers(0, row.shape[1] - t + 1)
        row[:, t0:t0 + t] = 0.0
    shift = int(rng.integers(-20, 21))
    return np.roll(x, shift, axis=2)


def _no_augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return x


def _predict_batches(fn, inputs: np.ndarray, batch: int = 512) -> np.ndarray:
    return np.concatenate([fn(inputs[i:i + batch].astype(np.float32)) for i in range(0, len(inputs), batch)])


def evaluate_scores(data: dict[str, np.ndarray], scores: np.ndarray, threshold: float) -> dict:
    labels = data["variant_label"]
    conditions = data["variant_condition"]
    result = {"n": int(len(labels)), "roc_auc": roc_auc(labels, scores), "threshold": threshold,
              **at_threshold(labels, scores, threshold), "by_condition": {}}
    for condition in ("clean", "noisy", "white_0db", "noise_only"):
        mask = conditions == condition
        if mask.any():
            result["by_condition"][condition] = {"n": int(mask.sum()), "roc_auc": roc_auc(labels[mask], scores[mask]),
                                                 **at_threshold(labels[mask], scores[mask], threshold)}
    kinds = data["variant_kind"]
    result["false_positive_rate_by_kind"] = {
        str(kind): float(np.mean(scores[(kinds == kind) & (labels == 0)] >= threshold))
        for kind in sorted(set(kinds[labels == 0]))}
    noises = data["variant_noise"]
    result["recall_by_noise"] = {
        str(noise): float(np.mean(scores[(noises == noise) & (labels == 1)] >= threshold))
        for noise in sorted(set(noises[labels == 1])) if noise}
    return result


def train(out_dir: Path, *, seed: int = 0, cnn_epochs: int = 12, head_epochs: int = 40, cache: Path = DEFAULT_CACHE,
          audio_root: Path | None = None, tonal_negatives: int = 0, train_head: bool = True) -> dict:
    torch = _torch()
    torch.manual_seed(seed)
    started = time.time()
    splits = {s: compute_features(s, seed=seed, cache=cache, audio_root=audio_root) for s in ("train", "val", "test")}
    train_data, val = splits["train"], splits["val"]
    keep = train_data["window_keep"]
    window_labels = train_data["variant_label"][train_data["window_variant"]]
    labels = window_labels[keep].astype(np.float32)
    cnn_inputs = train_data["logmel"][keep]
    if tonal_negatives:
        extra = _tonal_negatives(tonal_negatives, seed)
        cnn_inputs = np.concatenate([cnn_inputs, extra])
        cnn_labels = np.concatenate([labels, np.zeros(len(extra), np.float32)])
        print(f"+ {len(extra)} synthetic siren/melody windows (not crying) for the CNN", flush=True)
    else:
        cnn_labels = labels
    print(f"training windows: {int(keep.sum())} ({int(labels.sum())} crying)", flush=True)

    def val_auc(predict):
        return roc_auc(val["variant_label"], clip_scores(val, predict(val)))

    # (b) an MLP head on YAMNet embeddings
    head = _head_module(torch)
    head_epoch = None if not train_head else _fit(torch, head, train_data["embedding"][keep], labels, head_epochs, 256, 2e-3, seed, _no_augment,
                      lambda m: val_auc(lambda d: _torch_predict(torch, m, d["embedding"])), "yamnet_head")
    EmbeddingHead(export_head(head))  # the exported head loads
    # (c) the log-mel CNN
    cnn = _cnn_module(torch)
    cnn_epoch = _fit(torch, cnn, cnn_inputs, cnn_labels, cnn_epochs, 64, 3e-3, seed, _spec_augment,
                     lambda m: val_auc(lambda d: _torch_predict(torch, m, d["logmel"])), "logmel_cnn")
    LogMelCnn(export_cnn(cnn))  # the exported CNN loads

    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(out_dir / "logmel_cnn.npz", **export_cnn(cnn))
    if train_head:
        np.savez(out_dir / "yamnet_head.npz", **export_head(head))
    return compare(out_dir, seed=seed, cache=cache, audio_root=audio_root,
                   extra={"epochs": {"yamnet_head": head_epoch, "logmel_cnn": cnn_epoch},
                          "train_seconds": round(time.time() - started, 1)})


def _fold_groups(audio_root: Path | None) -> list[str]:
    """Fold group of every clip for the fusion layer's cross-validation: the source recording / uploader /
    ESC clip; spoken digits by utterance (validation has a single speaker)."""
    from babymon_lab.cry.dataset import default_audio_root, list_clips

    return [str(c.path) if c.source == "speech" else c.group for c in list_clips(audio_root or default_audio_root())]


def evaluate_synthetic(data: dict[str, np.ndarray], scores: np.ndarray, threshold: float) -> dict:
    """Per synthetic kind: the false-positive rate on the sound alone and the recall of cries over it."""
    labels, kinds = data["variant_label"], data["variant_kind"]
    result = {}
    for kind in sorted(set(kinds)):
        negatives, positives = (kinds == kind) & (labels == 0), (kinds == kind) & (labels == 1)
        result[str(kind)] = {"n": int((kinds == kind).sum()),
                             "false_positive_rate": float(np.mean(scores[negatives] >= threshold)),
                             "recall_of_cry_over_it": float(np.mean(scores[positives] >= threshold))}
    return result


def compare(out_dir: Path, *, seed: int = 0, cache: Path = DEFAULT_CACHE, audio_root: Path | None = None,
            extra: dict | None = None) -> dict:
    """Score all approaches with the weights in ``out_dir`` on the same validation and test variants; choose
    each threshold on validation; fit the fusion layer (e) on validation (grouped cross-validation: its
    validation numbers are out-of-fold); write ``metrics.json`` and ``config.json``."""
    from threadpoolctl import threadpool_limits

    from babymon_lab.cry.corpus import compute_synthetic, compute_yamnet_scores
    from babymon_lab.cry.fusion_fit import combine, select_fusion

    splits = {s: compute_features(s, seed=seed, cache=cache, audio_root=audio_root) for s in ("val", "test")}
    synthetic = {s: compute_synthetic(s, seed=seed, cache=cache, audio_root=audio_root) for s in ("val", "test")}
    yamnet_scores = {s: compute_yamnet_scores(s, seed=seed, cache=cache, audio_root=audio_root)
                     for s in ("val", "test")}
    head_np = EmbeddingHead.load(out_dir / "yamnet_head.npz")
    cnn_np = LogMelCnn.load(out_dir / "logmel_cnn.npz")
    results: dict[str, dict] = {}
    val, test = splits["val"], splits["test"]
    with threadpool_limits(limits=1, user_api="blas"):
        cnn = {(s, kind): _predict_batches(cnn_np.predict, d["logmel"])
               for s in ("val", "test") for kind, d in (("real", splits[s]), ("synthetic", synthetic[s]))}
        head = {(s, kind): _predict_batches(head_np.predict, d["embedding"])
                for s in ("val", "test") for kind, d in (("real", splits[s]), ("synthetic", synthetic[s]))}
        window_probs = {
            "yamnet_zero_shot": lambda s, kind, d: d["yamnet_cry"],
            "yamnet_head": lambda s, kind, d: head[(s, kind)],
            "logmel_cnn": lambda s, kind, d: cnn[(s, kind)],
            "logmel_cnn_yamnet": lambda s, kind, d: combine_with_yamnet(cnn[(s, kind)], d["yamnet_cry"], YAMNET_WEIGHT),
        }
        for name, predict in window_probs.items():
            scores = {(s, kind): clip_scores(d, predict(s, kind, d))
                      for s in ("val", "test") for kind, d in (("real", splits[s]), ("synthetic", synthetic[s]))}
            results[name] = _evaluate_approach(splits, synthetic, scores)
        groups = _fold_groups(audio_root)
        fusion_data = {s: combine(splits[s], synthetic[s], yamnet_scores[s], (cnn[(s, "real")], cnn[(s, "synthetic")]),
                                  (head[(s, "real")], head[(s, "synthetic")]), groups) for s in ("val", "test")}

        def clip_score_fn(data):
            return lambda p: clip_scores({"window_variant": data.window_clip, "variant_label": data.clip_label}, p)

        fusion, out_of_fold, selection = select_fusion(fusion_data["val"], clip_score_fn(fusion_data["val"]))
        test_data = fusion_data["test"]
        test_fused = clip_score_fn(test_data)(fusion.predict(test_data.cnn, test_data.scores, test_data.head))
        n_val, n_test = len(val["variant_label"]), len(test["variant_label"])
        results["logmel_cnn_yamnet_fusion"] = _evaluate_approach(splits, synthetic, {
            ("val", "real"): out_of_fold[:n_val], ("val", "synthetic"): out_of_fold[n_val:],
            ("test", "real"): test_fused[:n_test], ("test", "synthetic"): test_fused[n_test:]})
    if extra is None and (out_dir / "metrics.json").exists():  # re-scoring: keep what the training run recorded
        previous = json.loads((out_dir / "metrics.json").read_text())
        extra = {k: v for k, v in previous.items()
                 if k not in ("seed", "target_fpr_on_validation", "results", "fusion", "fusion_selection")}
    summary = {"seed": seed, **(extra or {}), "target_fpr_on_validation": TARGET_FPR, "results": results,
               "fusion": fusion.to_json(), "fusion_selection": selection}
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    write_model_config(out_dir, summary)
    from babymon.models import record_bundled

    record_bundled([out_dir / name for name in ("logmel_cnn.npz", "yamnet_head.npz", "config.json")])
    return summary


def _evaluate_approach(splits: dict, synthetic: dict, scores: dict) -> dict:
    """Threshold at the target false-positive rate on the real validation clips; every number at it."""
    threshold = threshold_for_fpr(splits["val"]["variant_label"], scores[("val", "real")], TARGET_FPR)
    result = {}
    for split, key in (("val", "validation"), ("test", "test")):
        result[key] = evaluate_scores(splits[split], scores[(split, "real")], threshold)
        result[key]["synthetic"] = evaluate_synthetic(synthetic[split], scores[(split, "synthetic")], threshold)
    return result


def write_model_config(out_dir: Path, summary: dict) -> dict:
    """``config.json``: thresholds of every approach; the default is the trained model with the best
    *validation* ROC AUC (the test split plays no part in the choice); the other one is the fallback."""
    results = summary["results"]
    trained = sorted((k for k in ("yamnet_head", "logmel_cnn", "logmel_cnn_yamnet", "logmel_cnn_yamnet_fusion")
                      if k in results), key=lambda k: -results[k]["validation"]["roc_auc"])
    config = {
        "default": trained[0],
        "fallback": "logmel_cnn" if trained[0] != "logmel_cnn" else None,
        "thresholds": {name: round(r["validation"]["threshold"], 6) for name, r in results.items()},
        "yamnet_weight": YAMNET_WEIGHT,
        **({"fusion": summary["fusion"]} if "fusion" in summary else {}),
        "stop_ratio": 0.5,
        "min_on_seconds": 2.0,
        "min_off_seconds": 3.0,
        "note": f"thresholds: clip/2-window-smoothed probability giving <= {TARGET_FPR:.0%} false positives on validation",
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return config


def _torch_predict(torch, model, inputs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate([torch.sigmoid(model(torch.from_numpy(inputs[i:i + 1024].astype(np.float32)))).numpy().reshape(-1)
                               for i in range(0, len(inputs), 1024)])


def comparison_table(summary: dict) -> str:
    rows = ["| approach | split | n clips | ROC AUC | recall | FPR | precision | white 0 dB recall | threshold "
            "| synthetic FPR siren / melody / babble |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, result in summary["results"].items():
        for split in ("validation", "test"):
            r = result[split]
            white = r["by_condition"].get("white_0db", {}).get("recall", float("nan"))
            synthetic = " / ".join(f"{r.get('synthetic', {}).get(k, {}).get('false_positive_rate', float('nan')):.3f}"
                                   for k in ("siren", "melody", "babble"))
            rows.append(f"| {name} | {split} | {r['n']} | {r['roc_auc']:.4f} | {r['recall']:.3f} | "
                        f"{r['false_positive_rate']:.3f} | {r['precision']:.3f} | {white:.3f} | {r['threshold']:.3f} "
                        f"| {synthetic} |")
    return "\n".join(rows)
