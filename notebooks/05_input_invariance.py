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
# # 5. Input invariance
#
# Kindermans et al. ("The (Un)reliability of Saliency Methods", 2017) asked: if two models compute the
# same function of the same information, should their explanations agree? They shift every input by a
# constant c and give the second model a first layer that subtracts c again. The two networks make
# exactly the same predictions, so an explanation method that changes between them is explaining the
# constant shift, not the model.

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn

import ig_widget as igw
from ig_widget import plot
from ig_widget.examples import digits_data, train_digits_cnn

model, images, labels = train_digits_cnn()
batch, targets = images[:8], labels[:8]
training_images = digits_data()[0][:1500]

# %% [markdown]
# The shifted model takes x + c and removes c before the original network: the same as folding −W·c
# into the first layer's bias (for a layer without padding), written so the equivalence is plain.

# %%
SHIFT = 0.5

class ShiftedInput(nn.Module):
    """Takes images shifted by `shift` and undoes the shift before `network`."""

    def __init__(self, network, shift):
        super().__init__()
        self.network, self.shift = network, shift

    def forward(self, x):
        return self.network(x - self.shift)

shifted_model = ShiftedInput(model, SHIFT)
shifted_batch = batch + SHIFT
with torch.no_grad():
    assert torch.allclose(model(batch), shifted_model(shifted_batch), atol=1e-5)
print("same predictions on every image")

# %% [markdown]
# Now each method on both: the original model on x, the shifted model on x + c. IG appears twice: with
# the black (zero) baseline, which stays put when the inputs move, and with a baseline that moves with
# the inputs (black shifted by c, the same "no ink" image in the shifted model's units). Blur, uniform
# noise over the image's range, and expected gradients over shifted data all move with the input too.

# %%
# each method gets the model, its inputs, its data, and the value of "no ink" in its units
methods = {
    "gradient": lambda m, x, data, no_ink: igw.saliency(m, x, target=targets),
    "gradient x input": lambda m, x, data, no_ink: igw.gradient_x_input(m, x, target=targets),
    "IG, black baseline": lambda m, x, data, no_ink: igw.integrated_gradients(m, x, target=targets, baseline="black"),
    "IG, baseline moves with input": lambda m, x, data, no_ink: igw.integrated_gradients(
        m, x, target=targets, baseline=no_ink),
    "IG, blur baseline": lambda m, x, data, no_ink: igw.integrated_gradients(m, x, target=targets, baseline="blur"),
    "IG, uniform baseline": lambda m, x, data, no_ink: igw.integrated_gradients(m, x, target=targets, baseline="uniform"),
    "expected gradients": lambda m, x, data, no_ink: igw.expected_gradients(m, x, data=data, target=targets, samples=256),
}
original = {name: method(model, batch, training_images, 0.0) for name, method in methods.items()}
shifted = {name: method(shifted_model, shifted_batch, training_images + SHIFT, SHIFT) for name, method in methods.items()}

change = {}
for name in methods:
    a, b = original[name].attributions, shifted[name].attributions
    change[name] = ((a - b).abs().max() / a.abs().max()).item()
    print(f"{name:>30}: largest change {change[name]:7.1%} of the largest attribution")

# %%
invariant = ["gradient", "IG, baseline moves with input", "IG, blur baseline", "IG, uniform baseline", "expected gradients"]
broken = ["gradient x input", "IG, black baseline"]
assert all(change[name] < 1e-3 for name in invariant), change
assert all(change[name] > 0.1 for name in broken), change

# %% [markdown]
# One digit, before and after the shift, for the two methods that changed and for IG with a moving baseline:

# %%
shown = ["gradient x input", "IG, black baseline", "IG, baseline moves with input"]
fig, axes = plt.subplots(2, 3, figsize=(10, 6))
for column, name in enumerate(shown):
    plot.image_heatmap(original[name].attributions[0], image=batch[0], ax=axes[0, column], title=f"{name}\noriginal")
    plot.image_heatmap(shifted[name].attributions[0], image=batch[0], ax=axes[1, column], title="shifted input")
fig.tight_layout()

# %% [markdown]
# **Takeaway.** Gradients are input-invariant; gradient × input is not (it multiplies by the shifted
# input). IG inherits its behaviour from the baseline: a fixed reference such as "all zeros" means
# something else once the inputs move, while a baseline defined by the data (blurred, noise over the
# input's range, the data distribution, or the fixed one moved along with the inputs) keeps IG
# invariant. When you pick a baseline, pick one that means the same thing in the model's units.
