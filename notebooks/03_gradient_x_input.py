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
# # 3. Gradient × input
#
# Gradient × input attributes xᵢ · ∂F/∂xᵢ to feature i: one backward pass, no path. It is Integrated
# Gradients with a zero baseline and a single step at α = 1. When the model is linear that one step is
# exact; when the model bends between the baseline and the input, it is not.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

import ig_widget as igw
from ig_widget import plot
from ig_widget.examples import digits_data, train_digits_cnn

digits_model, images, labels = train_digits_cnn()
digit = images[:1]

# %% [markdown]
# ## It is one step of IG

# %%
gxi = igw.gradient_x_input(digits_model, digit)
one_step = igw.integrated_gradients(digits_model, digit, baseline="black", steps=1, rule="riemann_right")
assert torch.allclose(gxi.attributions, one_step.attributions, atol=1e-6)
print("gradient x input == IG with a black baseline and one step at alpha = 1")

# %% [markdown]
# ## Where it works: (near-)linear models
#
# For F(x) = w·x + b, the gradient is w everywhere, so gradient × input = w ⊙ x, which is also what IG
# gives, and it sums to F(x) − F(0) exactly. A logistic-regression read-out on the digit pixels:

# %%
train_x, train_y = digits_data()[0][:1500], digits_data()[1][:1500]
torch.manual_seed(0)
linear = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
optimiser = torch.optim.Adam(linear.parameters(), lr=0.05)
for _ in range(100):
    optimiser.zero_grad()
    F.cross_entropy(linear(train_x), train_y).backward()
    optimiser.step()
linear.eval()

linear_gxi = igw.gradient_x_input(linear, digit)
linear_ig = igw.integrated_gradients(linear, digit)
change = (linear_ig.score - linear_ig.baseline_score).item()
print(f"F(x) - F(0) = {change:.4f}; sum of gradient x input = {linear_gxi.total.item():.4f}")
assert torch.allclose(linear_gxi.attributions, linear_ig.attributions, atol=1e-5)
assert abs(linear_gxi.total.item() - change) < 1e-4

# %% [markdown]
# A ReLU network is linear piece by piece, but the pieces change on the way from the black image to
# the digit, so on the logits gradient × input is only roughly right. How much of F(x) − F(0) each
# method accounts for, over eight digits:

# %%
batch = images[:8]
logit_gxi = igw.gradient_x_input(digits_model, batch)
logit_ig = igw.integrated_gradients(digits_model, batch)
logit_change = logit_ig.score - logit_ig.baseline_score
gxi_gap = (logit_gxi.total - logit_change) / logit_change.abs()
print("relative gap, gradient x input:", [f"{g:+.1%}" for g in gxi_gap.tolist()])
print("relative gap, IG (32 steps):   ", [f"{g:+.1%}" for g in logit_ig.relative_gap.tolist()])
assert gxi_gap.abs().mean() > 5 * logit_ig.relative_gap.abs().mean()

# %% [markdown]
# ## Where it breaks
#
# **Saturation.** On the probability of a confident prediction the gradient at x is almost zero (see
# notebook 2), so gradient × input explains almost none of the change from the black image:

# %%
with torch.no_grad():
    sure = int(digits_model(images).softmax(dim=1).max(dim=1).values.argmax())
confident = images[sure:sure + 1]
probability_gxi = igw.gradient_x_input(digits_model, confident, output="probability")
probability_ig = igw.integrated_gradients(digits_model, confident, output="probability", steps=64)
probability_change = (probability_ig.score - probability_ig.baseline_score).item()
print(f"probability change {probability_change:.3f}: gradient x input explains {probability_gxi.total.item():.4f}, "
      f"IG explains {probability_ig.total.item():.4f}")
assert probability_gxi.total.item() < 0.1 * probability_change
assert abs(probability_ig.relative_gap.item()) < 0.02

fig, axes = plt.subplots(1, 2, figsize=(7.5, 3))
plot.image_heatmap(probability_gxi, ax=axes[0], title="gradient x input", clip=100)
plot.image_heatmap(probability_ig, ax=axes[1], title="integrated gradients")
fig.tight_layout()

# %% [markdown]
# **Zero-valued features get nothing.** xᵢ = 0 makes xᵢ · ∂F/∂xᵢ = 0, whatever the gradient. For
# digits, the black background can never matter to gradient × input, even where ink would change the
# answer (notebook 4 shows how the choice of baseline decides this for IG).

# %%
background = digit == 0
assert (gxi.attributions[background] == 0).all()
print(f"{int(background.sum())} black pixels, all with attribution exactly 0")


# %% [markdown]
# **Flat regions.** The sensitivity example of notebook 2, F(x) = 1 − ReLU(1 − x) at x = 2, gets 0 from
# gradient × input although the output changed by 1. And it is not input-invariant: shift the inputs
# and it changes, while the model did not (notebook 5).

# %%
class RisesThenFlat(nn.Module):
    def forward(self, x):
        return 1 - torch.relu(1 - x)

flat = igw.gradient_x_input(RisesThenFlat(), torch.tensor([[2.0]]), target=0)
assert flat.attributions.item() == 0.0
print("gradient x input on 1 - ReLU(1 - x) at x = 2:", abs(flat.attributions.item()))

# %% [markdown]
# **Takeaway.** Gradient × input is the first-order Taylor picture of the model around the input. It is
# exact for linear models, close for nearly linear logits, and wrong where the model saturates or where
# the input is zero. IG with enough steps costs more passes and gives an answer that adds up.
