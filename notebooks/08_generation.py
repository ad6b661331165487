# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 8. Why did the language model write that?
#
# A causal language model writes one token at a time, each from the tokens before it. Here every
# generated token is attributed to its context with Integrated Gradients: row *i* of the **generation
# matrix** says how much each earlier token moved the score of generated token *i* (its logit, by
# default) away from the baseline's (the zero embedding). All rows come from **one shared walk** along
# the path: position *t*'s score depends only on tokens up to *t*, so one forward pass per chunk of path
# points serves every row, and each row costs only its own backward pass.
#
# Two models, both small enough for a CPU in seconds: one trained to copy, where we know the right
# answer, and a random GPT-2, where we do not.
#
# (Source: `notebooks/08_generation.py`, a jupytext script; the `.ipynb` is generated from it.)

# %%
import torch

import ig_widget as igw
from ig_widget.generation_examples import byte_level_tokenizer, copy_prompt, copy_task_model, random_gpt2

torch.manual_seed(0)

# %% [markdown]
# ## A model with a known answer: copying
#
# This two-layer GPT-2 was trained for a few seconds on sequences like `c a f d b | c a f d b`: after
# the marker `|` it repeats the letters. So generated token *i* is a copy of prompt token *i*, and an
# attribution that means something must peak there. Its tokenizer has no pad token (like GPT-2's and
# Llama's): nothing here needs one.

# %%
model, tokenizer = copy_task_model()
generation = igw.explain_generation(model, tokenizer, copy_prompt("cafdb"), max_new_tokens=5, steps=32)
print("tokens:   ", generation.tokens)
print("generated:", generation.generated, "->", "".join(generation.tokens[-generation.generated:]))


def show(matrix, tokens, generated):
    """The matrix as a table: one line per generated token, one column per context token."""
    print(" " * 8 + "".join(f"{token!r:>8}" for token in tokens))
    for i, row in enumerate(matrix.tolist()):
        print(f"{tokens[len(tokens) - generated + i]!r:>8}" + "".join(f"{value:8.2f}" for value in row))


show(generation.matrix, generation.tokens, generation.generated)

# %% [markdown]
# Each row peaks on the letter it copies, and everything at and after the generated token's own
# position is exactly zero (the model cannot see it). The peak is the honest test that the matrix means
# something: the tests check it on several prompts.

# %%
peaks = generation.matrix.argmax(dim=1).tolist()
print("peak of each row:", peaks)
assert peaks == [0, 1, 2, 3, 4]
assert all(float(generation.matrix[i, 6 + i:].abs().max()) == 0.0 for i in range(5))

# %% [markdown]
# Every row is a full Integrated Gradients result: F(x), F(x'), the completeness gap and the path trace.
# Completeness says the row's attributions add up to the change of its score from the baseline to the
# input; the relative gap is what the quadrature missed.

# %%
for i, row in enumerate(generation.rows):
    print(f"row {i}: F(x) = {float(row.score):7.3f}   F(x') = {float(row.baseline_score):7.3f}   "
          f"sum = {float(row.token_scores.sum()):7.3f}   relative gap = {float(row.relative_gap):+.2%}")

# %% [markdown]
# ## The view
#
# Click a generated token (or arrow to it): the tokens before it take the colours of their attribution
# to it, and the badge and the alpha path follow. Hover the matrix for a pair's number; click a row to
# select it. On the right, the model's top alternatives at that position: click one to explain the
# contrast, "why this token and not that one" (the difference of the two logits).

# %%
view = igw.GenerationExplainer(model, tokenizer, copy_prompt("gecak"), max_new_tokens=5, steps=32)
view

# %%
view.wait()
view.selected = 2
print("selected:", view.selected, repr(view.generation.tokens[view.generation.prompt_length + 2]))
print("its row:", [round(v, 2) for v in view.explanation.matrix[2].tolist()])

# %% [markdown]
# ## What the gaps say
#
# A small gap says the quadrature has converged for that row. With very few steps it has not: the
# attributions then miss part of the score change, and the badge in the view turns amber or red. A gap
# that does not shrink with more steps is a property of the path (the row's `diagnosis` says where and
# why).

# %%
coarse = igw.explain_generation(model, tokenizer, copy_prompt("cafdb"), max_new_tokens=5, steps=2)
print("relative gaps at  2 steps:", [f"{float(g):+.2%}" for g in coarse.relative_gaps])
print("relative gaps at 32 steps:", [f"{float(g):+.2%}" for g in generation.relative_gaps])
assert generation.relative_gaps.abs().max() < coarse.relative_gaps.abs().max()

# %% [markdown]
# ## A random GPT-2: a given answer, log-probabilities, contrasts
#
# A random-weight GPT-2 has no meaning to find, but it has the shape of the real thing: byte-level BPE
# without a pad token, a vocabulary head, learned positions. Here the answer is given
# (`continuation=`, teacher forced) rather than generated, and `target="log_probability"` explains each
# token's log-probability instead of its logit (it also counts what pushes the *other* tokens down).

# %%
gpt_tokenizer = byte_level_tokenizer()
gpt = random_gpt2(len(gpt_tokenizer), layers=2, hidden=64, heads=4, seed=0)
prompt = "The quick brown fox jumps over the lazy dog."
text = igw.explain_generation(gpt, gpt_tokenizer, prompt, continuation=" The cat sat on the mat.",
                              target="log_probability", steps=16)
print("explained tokens:", text.tokens[-text.generated:])
print("relative gaps:", [f"{float(g):+.2%}" for g in text.relative_gaps])

# %% [markdown]
# "Why this token and not that one?" The contrast explains the difference of two logits, so whatever
# pushes both up alike cancels out. Here: why " cat" rather than " dog" after "The"?

# %%
dog = gpt_tokenizer(" dog", add_special_tokens=False)["input_ids"]
assert len(dog) == 1
contrast = igw.explain_generation(gpt, gpt_tokenizer, prompt, continuation=" The cat", target="contrast",
                                  alternative=dog[0], steps=16)
row = contrast.rows[-1]
print(f"logit( cat) - logit( dog) = {float(row.score):.3f}; at the baseline {float(row.baseline_score):.3f}")
top = contrast.matrix[-1].abs().argsort(descending=True)[:3].tolist()
print("the tokens that decide it most:", [contrast.tokens[i] for i in top])
