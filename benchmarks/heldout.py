"""ig-widget against Captum on held-out architectures nobody tuned the engine for (issue 15).

Run: .venv/bin/python benchmarks/heldout.py [--quick] [--only NAME[,NAME]] [--widget]

Six models, all random init and built here with plain torch.nn or a `transformers` config (nothing is
downloaded): ResNet-50 (bottleneck blocks, [3, 4, 6, 3]), a MobileNet-v3-small layout (inverted
residuals with squeeze-excite and hardswish), ViT-tiny (patch 16, dim 192, depth 12, 3 heads), a
ConvNeXt-atto layout (dims 40/80/160/320, depths 2/2/6/2, LayerNorm in channels-last form), all on
3 x 224 x 224, and a 4-layer BERT and a 4-layer GPT-2 (`BertConfig` / `GPT2Config` defaults but the
depth, mean-pooled into a seeded 10-class head as `models.SentenceClassifier` does for MiniLM) on 32
tokens, explained through their word embeddings as `run_all.py` does for MiniLM.

Per model, with 2 CPU threads, in one run, every contender once per round (interleaved repeats):
  - equal steps: ours (`integrated_gradients` / `text_integrated_gradients`, trace on, as the widget
    uses it) / Captum (`IntegratedGradients` / `LayerIntegratedGradients`), both at 50 Gauss-Legendre
    steps and the same internal batch size (the chunk `auto_batch_size` gives one input row; both are
    passed it). Goal (issue 15) <= 0.9.
  - top-5: ours in one walk (`integrated_gradients_multi(top_k=5)` / `text_integrated_gradients_multi`
    with the top five classes) / five Captum calls, same steps and batch. Goal <= 0.5.
  - ops: operator calls of one of our calls / the bare forward+backward passes over the same points and
    chunks (`op_counts.OpCounter` via `op_counts.count`; deterministic, host syncs in brackets), and
    the same for launches (operator calls that are not pure views).
Times are medians over the rounds with their range; a ratio is the ratio of the medians, and its range
the range of the per-round ratios (ours and Captum of the same round ran seconds apart).

`--widget` times instead what a user of `ImageExplainer` waits for, on the ResNet-50 at 224 x 224 with
2 threads and steps=32: seconds from the constructor's call until a first map is shown (in
`w.explanation`: the coarse preview when the widget shows one), until the shown output's final
32-step map, and until the five listed outputs all have their final maps (`w.computed_payloads()`),
polled every 20 ms; then the floor of the five: the bare forward and five backward passes over the 32
points in the widget's chunks. Issue 15's goals: first map 2 s, five maps 8 s.

`--quick` uses 112 x 112 images, 16 tokens and fewer repeats (a few minutes on a quiet 2-core CPU);
`build(name, "tiny")` shrinks every architecture too, for tests/test_heldout_benchmark.py.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from captum.attr import IntegratedGradients, LayerIntegratedGradients
from torch import Tensor, nn
from torch.nn import functional as F  # noqa: N812

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import SentenceClassifier  # noqa: E402
from op_counts import count  # noqa: E402
from timing import synchronize  # noqa: E402

import ig_widget as igw  # noqa: E402
from ig_widget.attribution.batching import auto_batch_size, preferred_layout  # noqa: E402
from ig_widget.attribution.model_state import isolated_model  # noqa: E402
from ig_widget.attribution.quadrature import path_points  # noqa: E402
from ig_widget.widgets.image import walk_batch_size  # noqa: E402

CPU = torch.device("cpu")
STEPS, TOP_K, CLASSES, THREADS = 50, 5, 1000, 2
WIDGET_STEPS = 32
SCALES = ("full", "quick", "tiny")
IMAGE_SIDE = {"full": 224, "quick": 112, "tiny": 32}
TOKENS = {"full": 32, "quick": 16, "tiny": 8}
GOALS = {"equal steps": 0.9, "top-5": 0.5}


# ---------------------------------------------------------------------------------------------------
# The architectures


class Bottleneck(nn.Module):
    """ResNet-50's block: 1x1 down to `width`, 3x3 (strided), 1x1 up to 4 x width, shortcut, ReLU."""

    def __init__(self, inputs: int, width: int, stride: int):
        super().__init__()
        outputs = 4 * width
        self.body = nn.Sequential(
            nn.Conv2d(inputs, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, outputs, 1, bias=False),
            nn.BatchNorm2d(outputs),
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and inputs == outputs
            else nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet-50 with the defaults (25.6 M parameters, 4.1 GFLOPs at 224 x 224)."""

    def __init__(self, depths=(3, 4, 6, 3), widths=(64, 128, 256, 512), classes: int = CLASSES):
        super().__init__()
        stem = widths[0]
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 7, 2, 3, bias=False), nn.BatchNorm2d(stem), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        blocks, inputs = [], stem
        for stage, (depth, width) in enumerate(zip(depths, widths)):
            for index in range(depth):
                blocks.append(Bottleneck(inputs, width, 2 if stage > 0 and index == 0 else 1))
                inputs = 4 * width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(inputs, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


def _divisible(channels: float, divisor: int = 8) -> int:
    """MobileNet's channel rounding: to a multiple of `divisor`, never more than 10% down."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        squeezed = _divisible(channels / 4)
        self.reduce, self.expand = nn.Conv2d(channels, squeezed, 1), nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        scale = F.hardsigmoid(self.expand(torch.relu(self.reduce(x.mean(dim=(2, 3), keepdim=True)))))
        return x * scale


class InvertedResidual(nn.Module):
    """MobileNet-v3's block: 1x1 expand, depthwise k x k, squeeze-excite, 1x1 project, residual."""

    def __init__(self, inputs: int, kernel: int, expanded: int, outputs: int, se: bool, hardswish: bool, stride: int):
        super().__init__()
        activation = nn.Hardswish if hardswish else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != inputs:
            layers += [nn.Conv2d(inputs, expanded, 1, bias=False), nn.BatchNorm2d(expanded), activation()]
        layers += [
            nn.Conv2d(expanded, expanded, kernel, stride, kernel // 2, groups=expanded, bias=False),
            nn.BatchNorm2d(expanded),
            activation(),
        ]
        if se:
            layers.append(SqueezeExcite(expanded))
        layers += [nn.Conv2d(expanded, outputs, 1, bias=False), nn.BatchNorm2d(outputs)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x: Tensor) -> Tensor:
        y = self.body(x)
        return x + y if self.residual else y


# torchvision's mobilenet_v3_small: inputs, kernel, expanded, outputs, squeeze-excite, hardswish, stride
MOBILENET_V3_SMALL = (
    (16, 3, 16, 16, True, False, 2),
    (16, 3, 72, 24, False, False, 2),
    (24, 3, 88, 24, False, False, 1),
    (24, 5, 96, 40, True, True, 2),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 240, 40, True, True, 1),
    (40, 5, 120, 48, True, True, 1),
    (48, 5, 144, 48, True, True, 1),
    (48, 5, 288, 96, True, True, 2),
    (96, 5, 576, 96, True, True, 1),
    (96, 5, 576, 96, True, True, 1),
)


class MobileNetV3(nn.Module):
    """MobileNet-v3-small's layout (2.5 M parameters); `settings` as in MOBILENET_V3_SMALL."""

    def __init__(self, settings=MOBILENET_V3_SMALL, hidden: int = 1024, classes: int = CLASSES):
        super().__init__()
        first, last = settings[0][0], settings[-1][3]
        self.stem = nn.Sequential(nn.Conv2d(3, first, 3, 2, 1, bias=False), nn.BatchNorm2d(first), nn.Hardswish())
        self.blocks = nn.Sequential(*(InvertedResidual(*setting) for setting in settings))
        self.last = nn.Sequential(nn.Conv2d(last, 6 * last, 1, bias=False), nn.BatchNorm2d(6 * last), nn.Hardswish())
        self.head = nn.Sequential(nn.Linear(6 * last, hidden), nn.Hardswish(), nn.Linear(hidden, classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.last(self.blocks(self.stem(x))).mean(dim=(2, 3)))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        batch, tokens, dim = x.shape
        q, k, v = self.qkv(x).view(batch, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, tokens, dim))


class EncoderBlock(nn.Module):
    """A pre-norm transformer block: x + attention(LN(x)), then x + MLP(LN(x)) with GELU, 4 x wide."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1, self.attention = nn.LayerNorm(dim, eps=1e-6), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT-tiny by default (5.7 M parameters): 16 x 16 patches, a class token, learned positions."""

    def __init__(self, side: int, patch: int = 16, dim: int = 192, depth: int = 12, heads: int = 3, classes=CLASSES):
        super().__init__()
        self.patches = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.positions = nn.Parameter(torch.randn(1, 1 + (side // patch) ** 2, dim) * 0.02)
        self.blocks = nn.Sequential(*(EncoderBlock(dim, heads) for _ in range(depth)))
        self.norm, self.head = nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, classes)

    def forward(self, x: Tensor) -> Tensor:
        tokens = self.patches(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(tokens.shape[0], -1, -1), tokens], dim=1) + self.positions
        return self.head(self.norm(self.blocks(tokens))[:, 0])


class ChannelsLastNorm(nn.LayerNorm):
    """LayerNorm over the channels of an N x C x H x W tensor, as ConvNeXt does it: permute to
    channels-last, normalise the last dimension, permute back."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7, then in channels-last form LayerNorm, Linear 4 x, GELU, Linear, layer scale."""

    def __init__(self, dim: int):
        super().__init__()
        self.depthwise = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.scale = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x: Tensor) -> Tensor:
        y = self.depthwise(x).permute(0, 2, 3, 1)
        return x + (self.scale * self.mlp(self.norm(y))).permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """ConvNeXt-atto's dims and depths (3.7 M parameters) in the original ConvNeXt's form: a 4x4
    patchify stem and 2x2 downsampling, each with a channels-last LayerNorm."""

    def __init__(self, dims=(40, 80, 160, 320), depths=(2, 2, 6, 2), classes: int = CLASSES):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, dims[0], 4, 4), ChannelsLastNorm(dims[0], eps=1e-6)]
        for stage, (dim, depth) in enumerate(zip(dims, depths)):
            if stage > 0:
                layers += [ChannelsLastNorm(dims[stage - 1], eps=1e-6), nn.Conv2d(dims[stage - 1], dim, 2, 2)]
            layers += [ConvNeXtBlock(dim) for _ in range(depth)]
        self.features = nn.Sequential(*layers)
        self.norm, self.head = nn.LayerNorm(dims[-1], eps=1e-6), nn.Linear(dims[-1], classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.norm(self.features(x).mean(dim=(2, 3))))


@dataclass(frozen=True)
class Built:
    """One benchmark case: a model in eval mode, its input and baseline, and for text models the
    embedding layer whose output is the integration variable (None for images)."""

    label: str
    model: nn.Module
    x: Tensor  # image [1, 3, H, W] in [0, 1], or token ids [1, length]
    baseline: Tensor  # zeros like the image, or baseline token ids
    embedding: nn.Module | None = None


def _image(label: str, model: nn.Module, side: int) -> Built:
    x = torch.rand(1, 3, side, side)
    return Built(f"{label}, 3 x {side} x {side}", model.eval(), x, torch.zeros_like(x))


def resnet50(scale: str) -> Built:
    torch.manual_seed(0)
    tiny = scale == "tiny"
    model = ResNet((1, 1, 1, 1), (8, 8, 16, 16)) if tiny else ResNet()
    return _image("ResNet-50", model, IMAGE_SIDE[scale])


def mobilenet_v3_small(scale: str) -> Built:
    torch.manual_seed(0)
    settings = (
        MOBILENET_V3_SMALL if scale != "tiny" else ((16, 3, 16, 16, True, False, 2), (16, 5, 48, 24, True, True, 1))
    )
    model = MobileNetV3(settings, hidden=64 if scale == "tiny" else 1024)
    return _image("MobileNet-v3-small", model, IMAGE_SIDE[scale])


def vit_tiny(scale: str) -> Built:
    torch.manual_seed(0)
    side = IMAGE_SIDE[scale]
    model = VisionTransformer(side, dim=48, depth=2) if scale == "tiny" else VisionTransformer(side)
    return _image("ViT-tiny", model, side)


def convnext_atto(scale: str) -> Built:
    torch.manual_seed(0)
    model = ConvNeXt((8, 16, 16, 32), (1, 1, 1, 1)) if scale == "tiny" else ConvNeXt()
    return _image("ConvNeXt-atto", model, IMAGE_SIDE[scale])


def _text(label: str, encoder: nn.Module, scale: str, first: int | None, last: int | None, pad: int) -> Built:
    """Seeded token ids (first and last set to the special tokens when given), baseline ids `pad` but
    at the special tokens, and a seeded 10-class head over the mean of the last hidden states."""
    length = TOKENS[scale]
    torch.manual_seed(0)
    ids = torch.randint(min(1000, encoder.config.vocab_size // 2), encoder.config.vocab_size, (1, length))
    special = torch.zeros_like(ids, dtype=torch.bool)
    for position, token in ((0, first), (-1, last)):
        if token is not None:
            ids[0, position], special[0, position] = token, True
    model = SentenceClassifier(encoder, classes=10).eval()
    baseline = torch.where(special, ids, torch.full_like(ids, pad))
    return Built(f"{label}, {length} tokens, embedding-layer IG", model, ids, baseline, model.get_input_embeddings())


def bert4(scale: str) -> Built:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    shrink = dict(vocab_size=1000, hidden_size=32, num_attention_heads=2, intermediate_size=64)
    config = BertConfig(num_hidden_layers=4, **(shrink if scale == "tiny" else {}))
    return _text("BERT, 4 layers", BertModel(config), scale, 101, 102, config.pad_token_id)


def gpt2_4(scale: str) -> Built:
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    shrink = dict(vocab_size=1000, n_embd=32, n_head=2, bos_token_id=999, eos_token_id=999)
    config = GPT2Config(n_layer=4, **(shrink if scale == "tiny" else {}))
    # GPT-2 has no pad or special tokens: the baseline is its end-of-text token everywhere
    return _text("GPT-2, 4 layers", GPT2Model(config), scale, None, None, config.eos_token_id)


ARCHITECTURES: dict[str, Callable[[str], Built]] = {
    "resnet50": resnet50,
    "mobilenet_v3_small": mobilenet_v3_small,
    "vit_tiny": vit_tiny,
    "convnext_atto": convnext_atto,
    "bert4": bert4,
    "gpt2_4": gpt2_4,
}


def build(name: str, scale: str = "full") -> Built:
    """The case `name` (a key of ARCHITECTURES) at `scale`: "full" (224 x 224 images, 32 tokens),
    "quick" (112 x 112, 16 tokens) or "tiny" (shrunk widths and depths on 32 x 32 or 8 tokens)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"name={name!r} is not a held-out architecture; use one of {', '.join(ARCHITECTURES)}")
    if scale not in SCALES:
        raise ValueError(f"scale={scale!r} is unknown; use one of {', '.join(SCALES)}")
    return ARCHITECTURES[name](scale)


# ---------------------------------------------------------------------------------------------------
# What is timed and counted


def batch_size(built: Built) -> int:
    """The internal batch both sides get: the chunk `auto_batch_size` gives one input row at STEPS."""
    if built.embedding is None:
        return auto_batch_size(built.x[0], 1, STEPS)
    with torch.no_grad():
        return auto_batch_size(built.embedding(built.x)[0], 1, STEPS)


def top_classes(built: Built) -> list[int]:
    """The model's TOP_K highest-scoring classes for the input, best first."""
    with torch.no_grad():
        scores = built.model(built.x) if built.embedding is None else built.model(input_ids=built.x)
    return scores.topk(TOP_K, dim=1).indices[0].tolist()


def contenders(built: Built, batch: int, classes: list[int]) -> dict[str, Callable[[], object]]:
    """ours, captum, ours top-5 and captum top-5 (five calls), at STEPS Gauss-Legendre steps and `batch`."""
    model, x, baseline, target = built.model, built.x, built.baseline, classes[0]
    common = dict(baseline=baseline, steps=STEPS, rule="gausslegendre", batch_size=batch)
    if built.embedding is None:
        captum = IntegratedGradients(model)

        def ours():
            return igw.integrated_gradients(model, x, target=target, **common)

        def ours_top():
            return igw.integrated_gradients_multi(model, x, top_k=TOP_K, **common)
    else:
        captum = LayerIntegratedGradients(lambda tokens: model(input_ids=tokens), built.embedding)
        text = dict(common, embedding=built.embedding, keep_special=False)

        def ours():
            return igw.text_integrated_gradients(model, x, target=target, **text)

        def ours_top():
            return igw.text_integrated_gradients_multi(model, x, targets=classes, **text)

    def captum_ig(klass: int) -> Tensor:
        return captum.attribute(
            x, baseline, target=klass, n_steps=STEPS, method="gausslegendre", internal_batch_size=batch
        )

    return {
        "ours": ours,
        "captum": lambda: captum_ig(target),
        "ours top-5": ours_top,
        "captum top-5": lambda: [captum_ig(klass) for klass in classes],
    }


def relative_difference(built: Built, batch: int, target: int) -> float:
    """max |ours - Captum| / max |Captum| over the attributions (pixels, or embedding entries)."""
    calls = contenders(built, batch, [target])
    ours, theirs = calls["ours"](), calls["captum"]()
    ours = ours.attributions if built.embedding is None else ours.result.attributions
    return float((ours - theirs).abs().max() / theirs.abs().max())


def bare_passes(built: Built, batch: int, target: int) -> Callable[[], None]:
    """One forward and one backward per chunk over the path points ours walks (made beforehand), on a
    twin with frozen parameters: the floor `op_counts.py` counts against."""
    twin = copy.deepcopy(built.model)
    for parameter in twin.parameters():
        parameter.requires_grad_(False)
    with torch.no_grad():
        start, end = (
            (built.baseline, built.x)
            if built.embedding is None
            else (built.embedding(built.baseline), built.embedding(built.x))
        )
    alphas = torch.as_tensor(path_points("gausslegendre", STEPS)[0], dtype=start.dtype)
    points = start + alphas.view(-1, *(1,) * (start.ndim - 1)) * (end - start)

    def run() -> None:
        for chunk in points.split(batch):
            chunk = chunk.detach().requires_grad_(True)
            scores = twin(chunk) if built.embedding is None else twin(inputs_embeds=chunk)
            torch.autograd.grad(scores[:, target].sum(), chunk)

    return run


def interleaved_times(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call and round: one warm-up call each, then `repeats` rounds calling each in turn
    (`timing.interleaved_medians`, keeping every round for the ranges and paired ratios)."""
    for run in calls.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, run in calls.items():
            synchronize(CPU)
            start = time.perf_counter()
            run()
            synchronize(CPU)
            times[name].append(time.perf_counter() - start)
    return times


def ratio_line(figure: str, ours: list[float], theirs: list[float], note: str) -> str:
    median_ours, median_theirs = statistics.median(ours), statistics.median(theirs)
    ratio = median_ours / median_theirs
    paired = [a / b for a, b in zip(ours, theirs)]
    verdict = "meets" if ratio <= GOALS[figure] else "MISSES"
    return (
        f"  {figure:<11} {median_ours:7.3f} s [{min(ours):.3f} - {max(ours):.3f}] / {median_theirs:7.3f} s "
        f"[{min(theirs):.3f} - {max(theirs):.3f}] = {ratio:4.2f} (per round {min(paired):.2f} - {max(paired):.2f}; "
        f"goal <= {GOALS[figure]}: {verdict})  {note}"
    )


def benchmark(name: str, scale: str, repeats: int) -> None:
    built = build(name, scale)
    batch, classes = batch_size(built), top_classes(built)
    difference = relative_difference(built, batch, classes[0])
    bare = count(bare_passes(built, batch, classes[0]))
    calls = contenders(built, batch, classes)
    ours = count(calls["ours"])
    times = interleaved_times(calls, repeats)
    print(
        f"\n{built.label}: batch {batch}, {repeats} rounds; attributions differ from Captum's by at most "
        f"{difference:.1e} of the largest",
        flush=True,
    )
    print(ratio_line("equal steps", times["ours"], times["captum"], f"{STEPS} Gauss-Legendre steps each"))
    print(ratio_line("top-5", times["ours top-5"], times["captum top-5"], "one walk / five Captum calls"))
    print(
        f"  {'ops':<11} {ours.ops} ({ours.syncs} syncs) / bare passes {bare.ops} ({bare.syncs}) = "
        f"{ours.ops / bare.ops:.2f} x; launches (not pure views) {ours.launches} / {bare.launches} = "
        f"{ours.launches / bare.launches:.2f} x  one call, trace on, same points and chunks",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------------
# The widget's first map


@dataclass(frozen=True)
class WidgetStages:
    """Seconds from the constructor's call until: a first map is shown (`first`: the coarse preview when
    the widget shows one, else the final map), the shown output's final map (`final`), and the five listed
    outputs' final maps (`five`); `preview_steps`: the preview's steps, None without one."""

    first: float
    final: float
    five: float
    preview_steps: int | None


def widget_stages(scale: str, timeout: float = 600.0, poll: float = 0.02) -> WidgetStages:
    """The stages of one fresh `ImageExplainer` on the ResNet-50 (its own forward pass included), polled
    every `poll` s: `w.explanation` (the shown result, preview or final) and `w.computed_payloads()`
    (final results only)."""
    built = resnet50(scale)
    start = time.perf_counter()
    widget = igw.ImageExplainer(built.model, built.x[0], steps=WIDGET_STEPS)
    first = final = preview_steps = None
    try:
        while True:
            elapsed = time.perf_counter() - start
            if widget.status == "error":
                raise RuntimeError(f"the widget failed: {widget.error}")
            shown = widget.explanation
            if first is None and shown is not None:
                first = elapsed
                preview_steps = shown.steps if shown.steps != WIDGET_STEPS else None
            computed = widget.computed_payloads().keys()
            if final is None and widget.current_request() in computed:
                final = elapsed
            listed = {widget.current_request(target=row["index"]) for row in widget.outputs}
            if final is not None and listed <= computed:
                return WidgetStages(first, final, elapsed, preview_steps)
            if elapsed > timeout:
                raise TimeoutError(f"the widget had not computed its five outputs after {timeout:.0f} s")
            time.sleep(poll)
    finally:
        widget.wait(timeout)
        widget.close()


def five_maps_floor(scale: str) -> float:
    """Seconds of the bare passes the five final maps need at least: one forward and five backward passes
    per chunk over WIDGET_STEPS Gauss-Legendre points, in the widget's chunks (`image.walk_batch_size`) and
    the engine's memory layout, through the engine's own eval-mode twin of the model (`isolated_model`:
    parameters detached, BatchNorm folded into the convolutions at its first call), warmed (no trace, no
    completeness, no F(x) and F(x') rows, no encoding): what no scheduling of the five can beat at that
    accuracy (the engine's multi-target walk does the same passes: one forward per chunk, one backward per
    target). A deep copy of the model would not be a floor: it runs every BatchNorm the twin folds away."""
    built = resnet50(scale)
    twin = isolated_model(built.model)
    alphas = torch.as_tensor(path_points("gausslegendre", WIDGET_STEPS)[0], dtype=built.x.dtype)
    points = built.baseline + alphas.view(-1, 1, 1, 1) * (built.x - built.baseline)
    targets = top_classes(built)
    chunks = points.split(walk_batch_size(built.x, WIDGET_STEPS))  # the widget's chunks

    def passes(chunks: tuple[Tensor, ...]) -> None:
        for chunk in chunks:  # in the engine's layout (channels-last on the CPU: batching.preferred_layout)
            chunk = chunk.detach().contiguous(memory_format=preferred_layout(chunk) or torch.contiguous_format)
            chunk.requires_grad_(True)
            scores = twin(chunk)
            for target in targets:
                torch.autograd.grad(scores[:, target].sum(), chunk, retain_graph=True)

    passes(chunks[:1])  # warm: a floor leaves out first-call costs
    start = time.perf_counter()
    passes(chunks)
    return time.perf_counter() - start


def widget_benchmark(scale: str, repeats: int) -> None:
    side = IMAGE_SIDE[scale]
    print(f"\nImageExplainer, ResNet-50 on 3 x {side} x {side}, steps={WIDGET_STEPS}, {repeats} fresh widgets:")
    rounds, floors = [], []
    for _ in range(repeats):  # the floor right after each widget: the same machine state, as far as it goes
        rounds.append(widget_stages(scale))
        floors.append(five_maps_floor(scale))
    previews = sorted({r.preview_steps for r in rounds}, key=str)
    print(f"  preview shown first: {', '.join(f'{p} steps' if p else 'none' for p in previews)}")
    for figure, values, goal in (
        ("first map", [r.first for r in rounds], 2.0),
        ("final map", [r.final for r in rounds], None),
        ("five maps", [r.five for r in rounds], 8.0),
        ("floor of 5", floors, None),
    ):
        verdict = ""
        if goal is not None:
            verdict = f" (goal <= {goal:g} s: {'meets' if statistics.median(values) <= goal else 'MISSES'})"
        print(
            f"  {figure:<10} median {statistics.median(values):6.2f} s [{min(values):.2f} - {max(values):.2f}]{verdict}",
            flush=True,
        )
    ratios = [r.five / floor for r, floor in zip(rounds, floors)]
    print(
        f"  floor of 5: {WIDGET_STEPS} forward + {TOP_K} x {WIDGET_STEPS} backward passes, bare, in the widget's "
        f"chunks; five maps / floor per round {min(ratios):.2f} - {max(ratios):.2f}",
        flush=True,
    )


def load() -> str:
    """The machine's load (1, 5, 15 minutes) against its cores: timings mean little on a shared machine."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="112 x 112 images, 16 tokens, fewer repeats")
    parser.add_argument("--only", default="", help=f"comma-separated names: {','.join(ARCHITECTURES)}")
    parser.add_argument("--widget", action="store_true", help="time ImageExplainer's first map instead")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"torch CPU threads (default {THREADS})")
    parser.add_argument("--repeats", type=int, default=None, help="rounds per model (default 3, quick 2)")
    arguments = parser.parse_args()
    names = [name for name in arguments.only.split(",") if name] or list(ARCHITECTURES)
    unknown = [name for name in names if name not in ARCHITECTURES]
    if unknown:
        parser.error(f"--only {','.join(unknown)}: unknown; use names from {', '.join(ARCHITECTURES)}")
    scale = "quick" if arguments.quick else "full"
    repeats = arguments.repeats or (2 if arguments.quick else 3)
    torch.set_num_threads(arguments.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, scale {scale}, {load()}")
    if arguments.widget:
        widget_benchmark(scale, repeats)
        print(f"  ({load()} after it)")
        return
    for name in names:
        benchmark(name, scale, repeats)
        print(f"  ({load()} after it)", flush=True)


if __name__ == "__main__":
    main()
