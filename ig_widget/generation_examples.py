"""Small causal language models that work offline, for explaining generation in tests and tutorials.

- `byte_level_tokenizer()`: a GPT-2-style byte-level BPE tokenizer trained in memory on a few sentences,
  with an end-of-text token and, like GPT-2's, no pad token.
- `random_gpt2(tokenizer, ...)`: a GPT-2 of the given size with random weights (no download).
- `copy_task_model()`: a two-layer GPT-2 trained in seconds to repeat a sequence of letters after a
  marker ("c a f d | c a f d"): generated token i copies prompt token i, so its attribution should peak
  there. The tokenizer is a word-level one, again without a pad token.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch
from torch import nn

COPY_LETTERS = "abcdefghijkl"
COPY_MARKER = "|"
COPY_LENGTH = 5
SAMPLE_TEXT = (
    "The quick brown fox jumps over the lazy dog. A language model writes one token at a time, and each "
    "token depends on the ones before it. Integrated gradients attribute a score to the input tokens. "
    "The cat sat on the mat while the dog slept by the door. Paris is the capital of France."
)


def byte_level_tokenizer(corpus: str = SAMPLE_TEXT, vocabulary: int = 400) -> Any:
    """A byte-level BPE tokenizer (as GPT-2's) trained on `corpus`, with `<|endoftext|>` and no pad token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocabulary,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([corpus], trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|endoftext|>", bos_token="<|endoftext|>", unk_token="<|endoftext|>"
    )


def word_tokenizer(words: str) -> Any:
    """A tokenizer with one token per whitespace-separated word of `words` (plus `<eos>`), no pad token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<eos>": 0, **{word: i + 1 for i, word in enumerate(words.split())}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<eos>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<eos>")


def random_gpt2(
    vocabulary: int, *, layers: int = 2, hidden: int = 32, heads: int = 2, positions: int = 128, seed: int = 0
) -> nn.Module:
    """A GPT-2 language model with random weights, in eval mode."""
    import transformers

    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        vocab_size=vocabulary,
        n_positions=positions,
        n_embd=hidden,
        n_layer=layers,
        n_head=heads,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    return transformers.GPT2LMHeadModel(config).eval()


@lru_cache(maxsize=2)
def copy_task_model(seed: int = 0, steps: int = 120) -> tuple[nn.Module, Any]:
    """(model, tokenizer): a 2-layer GPT-2 trained on "x1 .. x5 | x1 .. x5" over random letters.

    Trains for `steps` Adam steps of 32 sequences (about 10 s on a busy 2-core CPU) and returns the model in eval
    mode; the loss is taken on the copied half only. Cached: treat the model as read-only.
    """
    tokenizer = word_tokenizer(" ".join([*COPY_LETTERS, COPY_MARKER]))
    generator = torch.Generator().manual_seed(seed)
    model = random_gpt2(len(tokenizer), layers=2, hidden=32, heads=2, positions=16, seed=seed)
    model.train()
    letters = torch.tensor(tokenizer.convert_tokens_to_ids(list(COPY_LETTERS)))
    marker = tokenizer.convert_tokens_to_ids(COPY_MARKER)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        prompt = letters[torch.randint(len(letters), (32, COPY_LENGTH), generator=generator)]
        ids = torch.cat([prompt, torch.full((32, 1), marker), prompt], dim=1)
        logits = model(input_ids=ids).logits[:, COPY_LENGTH:-1]
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, COPY_LENGTH + 1 :].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval(), tokenizer


def copy_prompt(letters: str) -> str:
    """The prompt for the copy task: the letters, then the marker ("c a f d b |")."""
    return " ".join([*letters, COPY_MARKER])
