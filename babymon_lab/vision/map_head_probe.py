"""Does a small convolutional head on MobileNet's feature maps tell lying postures apart better than the shipped
linear head on the pooled embedding? An experiment for crib cameras (issue 12), nothing here is shipped.

    BABYMON_MODEL_MIRROR=../shared/models python -m babymon_lab.vision.map_head_probe [--seeds 3] [--hidden 64]

The shipped posture head sees the body crop's 1024-number embedding: MobileNet V1's last 7×7 map, averaged. Where
on the crop things are is gone. This probe keeps the maps (the 14×14×512 map pooled to 7×7, and the 7×7×1024 map)
and fits a head that can use where things are: 1×1 convolution to ``hidden`` channels, one 3×3 convolution, mean
and max pooling, a linear layer. It is a cheap stand-in for fine-tuning the network's last layers: the maps are
computed once per crop (8 turns and mirrors each) and cached, and training takes seconds on a CPU.

* Lying postures only: supine, prone, side.
* Chosen on: the 510 overhead photos (``posture_data.read_overhead_images``), grouped 5-fold cross-validation,
  with the ``infant_posture`` supine and prone photos (half weight) added to every fold's training.
* Looked at afterwards: the ``crib_cam`` frames labelled supine, prone or side, cropped where the shipped locator
  puts the body (trained on all of the above). crib_cam is never trained on.
* The same crops, the same folds and the same training rows, through a linear head on the pooled embedding, are
  the baseline.

Macro-F1 is given for the crop as it is ("as is") and for the probabilities averaged over its 8 turns and mirrors
("8 views"). Needs torch (``make install-train``).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np

from babymon_lab.vision.posture_train import LYING_CLASSES as LYING

WEB_WEIGHT = 0.5  # infant_posture photos count half: they are side views, the test is overhead
CACHE = Path(tempfile.gettempdir()) / "babymon-map-head"


def turns_and_mirrors(crop: np.ndarray) -> list[np.ndarray]:
    """The 8 views of a square crop: each quarter turn, as is and mirrored."""
    views = []
    for k in range(4):
        turned = np.ascontiguousarray(np.rot90(crop, k))
        views += [turned, np.ascontiguousarray(turned[:, ::-1])]
    return views


def crop_maps(maps, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(8, 7, 7, 1536) float16 maps and (8, 1024) embeddings of the 8 views of one body crop."""
    stacked, embeddings = [], []
    for view in turns_and_mirrors(crop):
        fine, coarse, embedding = maps.run(view)
        fine = fine.reshape(7, 2, 7, 2, fine.shape[-1]).mean(axis=(1, 3))
        stacked.append(np.concatenate([fine, coarse], axis=-1).astype(np.float16))
        embeddings.append(embedding.astype(np.float32))
    return np.stack(stacked), np.stack(embeddings)


def photo_set(name: str, data: Path) -> dict:
    """Maps of the overhead photos (``overhead``) or the infant_posture lying photos (``web``), cropped as the
    posture training crops them (cached)."""
    import cv2
    from tqdm import tqdm

    from babymon.vision.baby_finder import FeatureMaps
    from babymon.vision.pose import body_crop
    from babymon_lab.vision import posture_data
    from babymon_lab.vision.posture_extract import Cache, image_features

    if name == "overhead":
        images = posture_data.read_overhead_images(data)
    else:
        images = [im for im in posture_data.read_posture_images(data) if im.label in LYING]
    records = image_features([im.path for im in images], Cache())
    maps = FeatureMaps()
    x, e = zip(*(crop_maps(maps, body_crop(cv2.imread(str(im.path)), features.record.chosen)[0])
                 for im, features in tqdm(list(zip(images, records)), desc=f"{name} maps", unit="img")))
    return {"maps": np.stack(x), "embeddings": np.stack(e), "y": np.array([LYING.index(im.label) for im in images]),
            "groups": np.array([im.group for im in images])}


def crib_set(data: Path) -> dict:
    """Maps of the crib_cam frames labelled supine, prone or side, cropped where the shipped locator puts the body
    (the whole frame when it finds no baby)."""
    import cv2
    from tqdm import tqdm

    from babymon.vision.baby_finder import FeatureMaps
    from babymon.vision.pose import BabyLocator, body_crop
    from babymon_lab.vision.crib_cam import read_frames

    frames = [f for f in read_frames(data / "vision" / "crib_cam") if f.scores_posture and f.posture in LYING]
    locator, maps = BabyLocator(), FeatureMaps()
    x, e = [], []
    for frame in tqdm(frames, desc="crib_cam maps", unit="frame"):
        image = cv2.imread(str(frame.path))
        location = locator.locate(image)
        crop, _ = body_crop(image, location.pose if location.baby_present else None)
        views, embeddings = crop_maps(maps, crop)
        x.append(views)
        e.append(embeddings)
    return {"maps": np.stack(x), "embeddings": np.stack(e), "y": np.array([LYING.index(f.posture) for f in frames]),
            "groups": np.array([f.group for f in frames])}


def cached(name: str, make) -> dict:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    value = make()
    path.write_bytes(pickle.dumps(value, protocol=4))
    return value


def map_head(channels: int, hidden: int):
    import torch
    from torch import nn

    class MapHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.reduce = nn.Sequential(nn.Dropout2d(0.1), nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden),
                                        nn.ReLU())
            self.mix = nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU())
            self.out = nn.Sequential(nn.Dropout(0.3), nn.Linear(2 * hidden, len(LYING)))

        def forward(self, x):  # (B, 7, 7, C)
            h = self.mix(self.reduce(x.permute(0, 3, 1, 2)))
            return self.out(torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1))

    return MapHead()


def fit_map_head(x: np.ndarray, y: np.ndarray, weight: np.ndarray, hidden: int, epochs: int, seed: int):
    """Train on one random view of each crop per epoch, class-balanced, AdamW with a one-cycle schedule."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = map_head(x.shape[-1], hidden)
    xs, ys, ws = torch.from_numpy(x), torch.from_numpy(y).long(), torch.from_numpy(weight).float()
    balance = torch.tensor(len(y) / (len(LYING) * np.maximum(np.bincount(y, minlength=len(LYING)), 1)),
                           dtype=torch.float32)
    batch = 64
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=2e-3,
                                                   total_steps=epochs * ((len(y) + batch - 1) // batch))
    loss_of = nn.CrossEntropyLoss(weight=balance, reduction="none")
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(y))
        for start in range(0, len(y), batch):
            rows = order[start:start + batch]
            views = torch.randint(0, x.shape[1], (len(rows),))
            loss = (loss_of(model(xs[rows, views].float()), ys[rows]) * ws[rows]).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    model.eval()
    return model


def map_head_probabilities(model, x: np.ndarray) -> np.ndarray:
    """(N, 8, 3) probabilities for every view of every crop."""
    import torch

    out = []
    with torch.no_grad():
        for start in range(0, len(x), 64):
            chunk = torch.from_numpy(x[start:start + 64]).float()
            n, views = chunk.shape[:2]
            out.append(torch.softmax(model(chunk.reshape(n * views, *chunk.shape[2:])), 1).reshape(n, views, -1).numpy())
    return np.concatenate(out)


def linear_probabilities(train_e: np.ndarray, y: np.ndarray, weight: np.ndarray, test_e: np.ndarray,
                         c: float = 0.01) -> np.ndarray:
    """The baseline: the posture training's linear head (``fit_head``) on the embedding of every view."""
    from babymon.vision.linear import softmax
    from babymon_lab.vision.posture_train import fit_head

    views = train_e.shape[1]
    head = fit_head(train_e.reshape(-1, train_e.shape[-1]), np.repeat(y, views), c,
                    sample_weight=np.repeat(weight, views))
    n = len(test_e)
    return softmax(head.logits(test_e.reshape(n * views, -1))).reshape(n, views, -1)


def scores(y: np.ndarray, probabilities: np.ndarray) -> dict:
    from babymon_lab.vision.posture_train import macro_f1, report

    result = report(y, probabilities[:, 0].argmax(1), LYING)
    matrix = result["confusion_matrix"]["matrix"]
    return {"macro_f1": round(result["macro_f1"], 3),
            "macro_f1_8_views": round(macro_f1(y, probabilities.mean(1).argmax(1), len(LYING)), 3),
            "recall": {name: round(result["per_class"][name]["recall"], 3) for name in LYING},
            "supine_read_prone": round(matrix[0][1] / max(sum(matrix[0]), 1), 3),
            "confusion": matrix}


def run(data: Path, hidden: int, epochs: int, seeds: int) -> dict:
    from sklearn.model_selection import GroupKFold

    overhead = cached("overhead", lambda: photo_set("overhead", data))
    web = cached("web", lambda: photo_set("web", data))
    crib = cached("crib_cam", lambda: crib_set(data))
    y_all = np.concatenate([overhead["y"], web["y"]])
    w_all = np.concatenate([np.ones(len(overhead["y"])), np.full(len(web["y"]), WEB_WEIGHT)])
    folds = list(GroupKFold(n_splits=5).split(overhead["y"], overhead["y"], overhead["groups"]))

    def cross_validated(predict) -> np.ndarray:
        out = np.zeros((len(overhead["y"]), 8, len(LYING)))
        for train, test in folds:
            y = np.concatenate([overhead["y"][train], web["y"]])
            w = np.concatenate([np.ones(len(train)), np.full(len(web["y"]), WEB_WEIGHT)])
            out[test] = predict(train, test, y, w)
        return out

    result = {"overhead_photos": len(overhead["y"]), "web_photos": len(web["y"]), "crib_cam_frames": len(crib["y"]),
              "hidden": hidden, "epochs": epochs}
    result["linear"] = {
        "overhead_cv": scores(overhead["y"], cross_validated(lambda tr, te, y, w: linear_probabilities(
            np.concatenate([overhead["embeddings"][tr], web["embeddings"]]), y, w, overhead["embeddings"][te]))),
        "crib_cam": scores(crib["y"], linear_probabilities(
            np.concatenate([overhead["embeddings"], web["embeddings"]]), y_all, w_all, crib["embeddings"]))}
    result["map_head"] = []
    for seed in range(seeds):
        def predict(tr, te, y, w, seed=seed):
            model = fit_map_head(np.concatenate([overhead["maps"][tr], web["maps"]]), y, w, hidden, epochs, seed)
            return map_head_probabilities(model, overhead["maps"][te])

        model = fit_map_head(np.concatenate([overhead["maps"], web["maps"]]), y_all, w_all, hidden, epochs, seed)
        result["map_head"].append({"seed": seed, "overhead_cv": scores(overhead["y"], cross_validated(predict)),
                                   "crib_cam": scores(crib["y"], map_head_probabilities(model, crib["maps"]))})
    return result


def summary(result: dict) -> str:
    lines = [f"lying postures: {result['overhead_photos']} overhead photos (grouped 5-fold CV), "
             f"+ {result['web_photos']} web photos in training; crib_cam {result['crib_cam_frames']} frames "
             "(looked at afterwards)",
             "| head | overhead CV macro-F1 (as is / 8 views) | crib_cam macro-F1 (as is / 8 views) | "
             "crib_cam recall supine / prone / side | crib_cam supine read prone |",
             "|---|---|---|---|---|"]
    rows = [("linear on the embedding", result["linear"])]
    rows += [(f"map head, seed {r['seed']}", r) for r in result["map_head"]]
    for name, r in rows:
        cv, crib = r["overhead_cv"], r["crib_cam"]
        recall = " / ".join(f"{crib['recall'][k]:.2f}" for k in LYING)
        lines.append(f"| {name} | {cv['macro_f1']:.3f} / {cv['macro_f1_8_views']:.3f} | "
                     f"{crib['macro_f1']:.3f} / {crib['macro_f1_8_views']:.3f} | {recall} | "
                     f"{crib['supine_read_prone']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from babymon_lab.vision.posture_data import DEFAULT_DATA

    parser = argparse.ArgumentParser(prog="python -m babymon_lab.vision.map_head_probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--hidden", type=int, default=64, help="channels of the map head")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=3, help="map heads trained, one per seed")
    parser.add_argument("--json", type=Path, default=None, help="also write every number here")
    args = parser.parse_args(argv)
    result = run(args.data, args.hidden, args.epochs, args.seeds)
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
