"""RetinaFace with a MobileNet-0.25 body, in PyTorch, laid out so the biubug6 ``mobilenet0.25_Final.pth``
state dict loads strictly (a wrong layer name or shape fails loudly).

Which variant: the file in ``models/manifest.json`` (``retinaface_mnet025``) comes from biubug6's
Face-Detector-1MB-with-landmark, whose RetinaFace-mnet0.25 uses plain ReLU everywhere and smaller anchors
(``retinaface_priors.MIN_SIZES``) than Pytorch_Retinaface's (LeakyReLU 0.1, anchors 16–512). Both have the same
layer names and shapes, so a strict load cannot tell them apart; what tells them apart is the output. With this
file, on 23 adult faces pasted on a grey 640×480 canvas (``face_mask_adult``, threshold 0.5), ReLU + small
anchors give boxes at mean IoU 0.87 with YuNet's and 1 detection off the face; LeakyReLU + large anchors give
IoU 0.35 and 45 detections off the face. ``tests/models/test_retinaface.py`` checks the box on a real infant photo.

Only the export step (:mod:`babymon_lab.vision.retinaface_export`) imports this module; inference runs the exported
ONNX graph without torch. The network maps a BGR image minus the mean (104, 117, 123), as a float tensor
``(N, 3, H, W)``, to three tensors over all anchors (2 per cell at strides 8, 16 and 32, in the order of
:func:`babymon.vision.retinaface_priors.priors`): box offsets ``(N, A, 4)``, face probabilities after softmax
``(N, A, 2)`` (column 1 is "face") and landmark offsets ``(N, A, 10)``.

Layout (the "mobilenet0.25" config): MobileNetV1 ×0.25 in three stages (strides 8/16/32, 64/128/256 channels),
an FPN to 64 channels, one SSH context module per level, and per level a 1×1 classification, box and landmark
head.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

FPN_CHANNELS = 64
ANCHORS_PER_CELL = 2
BODY_CHANNELS = (64, 128, 256)  # stage1 / stage2 / stage3 outputs


def _conv_bn(cin: int, cout: int, stride: int = 1, kernel: int = 3, relu: bool = True) -> nn.Sequential:
    """Conv (no bias) + BatchNorm (+ ReLU)."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _depthwise_separable(cin: int, cout: int, stride: int) -> nn.Sequential:
    """MobileNetV1 block: 3×3 depthwise conv + BN + ReLU, 1×1 pointwise conv + BN + ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class MobileNetV1Body(nn.Module):
    """MobileNetV1 at width 0.25, cut into the three stages whose outputs feed the FPN."""

    def __init__(self) -> None:
        super().__init__()
        dw = _depthwise_separable
        self.stage1 = nn.Sequential(_conv_bn(3, 8, 2), dw(8, 16, 1), dw(16, 32, 2), dw(32, 32, 1),
                                    dw(32, 64, 2), dw(64, 64, 1))
        self.stage2 = nn.Sequential(dw(64, 128, 2), *(dw(128, 128, 1) for _ in range(5)))
        self.stage3 = nn.Sequential(dw(128, 256, 2), dw(256, 256, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c1 = self.stage1(x)
        c2 = self.stage2(c1)
        return c1, c2, self.stage3(c2)


class FPN(nn.Module):
    """Top-down feature pyramid: 1×1 lateral convs to ``out`` channels, nearest upsampling, 3×3 merge convs."""

    def __init__(self, in_channels: tuple[int, int, int], out: int):
        super().__init__()
        self.output1 = _conv_bn(in_channels[0], out, kernel=1)
        self.output2 = _conv_bn(in_channels[1], out, kernel=1)
        self.output3 = _conv_bn(in_channels[2], out, kernel=1)
        self.merge1 = _conv_bn(out, out)
        self.merge2 = _conv_bn(out, out)

    def forward(self, c1: torch.Tensor, c2: torch.Tensor, c3: torch.Tensor) -> list[torch.Tensor]:
        p3 = self.output3(c3)
        p2 = self.output2(c2) + F.interpolate(p3, size=c2.shape[2:], mode="nearest")
        p2 = self.merge2(p2)
        p1 = self.output1(c1) + F.interpolate(p2, size=c1.shape[2:], mode="nearest")
        p1 = self.merge1(p1)
        return [p1, p2, p3]


class SSH(nn.Module):
    """Single Stage Headless context module: parallel 3×3, "5×5" (two 3×3) and "7×7" (three 3×3) branches."""

    def __init__(self, cin: int, out: int):
        super().__init__()
        if out % 4:
            raise ValueError(f"SSH: out channels must be a multiple of 4, got {out}")
        self.conv3X3 = _conv_bn(cin, out // 2, relu=False)
        self.conv5X5_1 = _conv_bn(cin, out // 4)
        self.conv5X5_2 = _conv_bn(out // 4, out // 4, relu=False)
        self.conv7X7_2 = _conv_bn(out // 4, out // 4)
        self.conv7x7_3 = _conv_bn(out // 4, out // 4, relu=False)  # sic: lower-case x in the published weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch5_in = self.conv5X5_1(x)
        branch7_in = self.conv7X7_2(branch5_in)
        return F.relu(torch.cat([self.conv3X3(x), self.conv5X5_2(branch5_in), self.conv7x7_3(branch7_in)], dim=1))


class _Head(nn.Module):
    """A 1×1 conv giving ``values`` numbers per anchor, flattened to (N, H·W·anchors, values)."""

    def __init__(self, cin: int, anchors: int, values: int):
        super().__init__()
        self.values = values
        self.conv1x1 = nn.Conv2d(cin, anchors * values, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1x1(x).permute(0, 2, 3, 1)
        return out.reshape(out.shape[0], -1, self.values)


class RetinaFace(nn.Module):
    """RetinaFace MobileNet-0.25 (inference form: face probabilities after softmax)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = MobileNetV1Body()
        self.fpn = FPN(BODY_CHANNELS, FPN_CHANNELS)
        self.ssh1 = SSH(FPN_CHANNELS, FPN_CHANNELS)
        self.ssh2 = SSH(FPN_CHANNELS, FPN_CHANNELS)
        self.ssh3 = SSH(FPN_CHANNELS, FPN_CHANNELS)
        self.ClassHead = nn.ModuleList(_Head(FPN_CHANNELS, ANCHORS_PER_CELL, 2) for _ in range(3))
        self.BboxHead = nn.ModuleList(_Head(FPN_CHANNELS, ANCHORS_PER_CELL, 4) for _ in range(3))
        self.LandmarkHead = nn.ModuleList(_Head(FPN_CHANNELS, ANCHORS_PER_CELL, 10) for _ in range(3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        levels = self.fpn(*self.body(x))
        features = [self.ssh1(levels[0]), self.ssh2(levels[1]), self.ssh3(levels[2])]
        boxes = torch.cat([head(f) for head, f in zip(self.BboxHead, features)], dim=1)
        logits = torch.cat([head(f) for head, f in zip(self.ClassHead, features)], dim=1)
        landmarks = torch.cat([head(f) for head, f in zip(self.LandmarkHead, features)], dim=1)
        return boxes, F.softmax(logits, dim=-1), landmarks


def clean_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip the ``module.`` prefix that ``nn.DataParallel`` training leaves on every key."""
    return {(key[len("module."):] if key.startswith("module.") else key): value for key, value in state.items()}


def load_retinaface(weights: Path) -> RetinaFace:
    """The network with ``weights`` (a biubug6 state dict) loaded strictly, in eval mode, on the CPU.

    Raises ``ValueError`` naming the file when it is not a state dict for this architecture.
    """
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle / zip errors of many kinds: all mean "not a readable state dict"
        raise ValueError(f"RetinaFace weights {weights} cannot be read by torch.load: {exc}") from None
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"RetinaFace weights {weights}: expected a state dict, got {type(state).__name__}")
    net = RetinaFace()
    try:
        net.load_state_dict(clean_state_dict(state), strict=True)
    except RuntimeError as exc:
        raise ValueError(f"RetinaFace weights {weights} do not fit the MobileNet-0.25 network: {exc}") from None
    return net.eval()
