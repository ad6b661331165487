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
# # 4. Baselines
#
# IG explains F(x) − F(x′): the difference from a baseline x′ that stands for "no information". Which
# image is that? Black, a blurred copy, noise, the farthest valid image, or the data itself (expected
# gradients). Each asks a different question, and the maps differ. This notebook puts them side by side
# on one digit.

# %%
import matplotlib.pyplot as plt

import ig_widget as igw
from ig_widget import plot
from ig_widget.examples import digits_data, train_digits_cnn

model, images, labels = train_digits_cnn()
training_images = digits_data()[0][:1500]  # the images the model was trained on
digit = images[:1]

# %%
named = ["black", "blur", "uniform", "gaussian", "max_distance"]
results = {name: igw.integrated_gradients(model, digit, baseline=name, steps=64) for name in named}
results["expected gradients"] = igw.expected_gradients(model, digit, data=training_images, samples=1024)

fig, axes = plt.subplots(2, len(results), figsize=(2.3 * len(results), 4.6))
for column, (name, result) in enumerate(results.items()):
    axes[0, column].imshow(result.baseline[0, 0], cmap="gray", vmin=0, vmax=1)
    axes[0, column].set_title(name, fontsize=9)
    axes[0, column].set_axis_off()
    plot.image_heatmap(result, ax=axes[1, column], colorbar=False, display="heat")
axes[0, 0].set_ylabel("baseline x′")
fig.tight_layout()

# %% [markdown]
# Top: the baseline (for expected gradients, the mean of the training images it samples). Bottom: IG.
# Each map explains F(x) − F(x′) for its own x′, so the numbers differ as much as the pictures:

# %%
target = results["black"].target.item()
print(f"explaining class {target}; F(x) = {results['black'].score.item():.2f}")
print(f"{'baseline':>20} {'F(x′)':>8} {'Σ IG':>8} {'gap':>8}")
for name, result in results.items():
    print(f"{name:>20} {result.baseline_score.item():8.2f} {result.total.item():8.2f} {result.relative_gap.item():+8.2%}")
for name in named:
    assert abs(results[name].relative_gap.item()) < 0.02, name  # completeness, for every fixed baseline

# %% [markdown]
# Expected gradients draws a baseline and a point on its path at random for each sample, so its
# completeness holds *on average*: its gap shrinks as the number of samples grows.

# %%
for samples in (16, 128, 1024):
    estimate = igw.expected_gradients(model, digit, data=training_images, samples=samples)
    print(f"{samples:5d} samples: gap {estimate.relative_gap.item():+.2%}")
few = igw.expected_gradients(model, digit, data=training_images, samples=16)
many = igw.expected_gradients(model, digit, data=training_images, samples=1024)
assert abs(many.relative_gap.item()) < abs(few.relative_gap.item())

# %% [markdown]
# ## When a baseline hides a colour
#
# IGᵢ is (xᵢ − x′ᵢ) times an average gradient. Where the input already has the baseline's value, the
# attribution is exactly zero, whatever the model thinks of that pixel. With a black baseline, black
# pixels can never matter: the empty middle of a "0" cannot be credited for making it a zero. A colour
# image has the same blind spot for any pixel of the baseline's colour. The max-distance baseline (the
# far end of the range for every pixel) has no such pixels. Gaussian noise clipped to the valid range
# puts some black pixels back at black, and hides those; blur hides whatever is already smooth.

# %%
black_pixels = digit == 0
hidden = {name: int((results[name].attributions[black_pixels] == 0).sum()) for name in named}
print(f"{int(black_pixels.sum())} black pixels; how many get exactly zero attribution:")
for name, count in hidden.items():
    print(f"  {name:>13}: {count}")
assert hidden["black"] == int(black_pixels.sum())
assert hidden["max_distance"] == 0

fig, axes = plt.subplots(1, 2, figsize=(7.5, 3))
plot.image_heatmap(results["black"], ax=axes[0], display="heat", title="black baseline")
plot.image_heatmap(results["max_distance"], ax=axes[1], display="heat", title="max-distance baseline")
fig.tight_layout()

# %% [markdown]
# **Takeaway.** There is no neutral baseline; there is the question you ask. Black asks "compared with
# no ink"; blur, "compared with the same image without detail"; noise and max distance, "compared with
# something unlike this image"; expected gradients, "compared with typical data". Pick the one that
# matches your question, say which you used, and check completeness for it.
