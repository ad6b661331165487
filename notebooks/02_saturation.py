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
# # 2. Why gradients are not enough: saturation
#
# The gradient ∂F/∂xᵢ says how the score would move for a *tiny* change of feature i, at x. Networks
# saturate: once a feature has done its work, more of it changes nothing, and the gradient there is
# zero, even though that feature is the reason for the score. This notebook shows it on a one-line
# function and on a trained network, and how Integrated Gradients avoids it.

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn

import ig_widget as igw
from ig_widget import plot

# %% [markdown]
# ## The smallest example: F(x) = 1 − ReLU(1 − x)
#
# F rises from F(0) = 0 to F(1) = 1 and stays flat after. Take x = 2 and the baseline x′ = 0. The output
# went from 0 to 1 because x changed, so x deserves all of it (this is the *sensitivity* axiom). The
# gradient at x = 2 is 0.

# %%
class RisesThenFlat(nn.Module):
    """F(x) = 1 - ReLU(1 - x), one output per input feature."""

    def forward(self, x):
        return 1 - torch.relu(1 - x)

model = RisesThenFlat()
x = torch.tensor([[2.0]])
gradient = igw.saliency(model, x, target=0).attributions.item()
ig = igw.integrated_gradients(model, x, target=0, baseline="black")
print(f"F(x) - F(x') = {(ig.score - ig.baseline_score).item():.3f}")
print(f"gradient at x: {abs(gradient):.3f}    IG: {ig.attributions.item():.3f}")  # abs: torch gives -0.0
assert gradient == 0.0
assert abs(ig.attributions.item() - 1.0) < 1e-6
assert abs((ig.score - ig.baseline_score).item() - 1.0) < 1e-6

# %% [markdown]
# IG integrates the gradient along the path x′ + α(x − x′). For α < ½ the point is below 1 and the
# gradient is 1; above ½ it is 0. So IG = (x − x′) × ∫₀¹ gradient dα = 2 × ½ = 1. The **interior
# gradients**, the gradients at points on the path, show where the function still moved:

# %%
inner = igw.interior_gradients(model, x, alphas=[0.1, 0.3, 0.6, 0.9], target=0)
for alpha, grad in zip(inner.alphas.tolist(), inner.gradients.flatten().tolist()):
    print(f"alpha = {alpha:.1f}: point {2 * alpha:.1f}, gradient {abs(grad):.0f}")
assert inner.gradients.flatten()[:2].eq(1).all() and inner.gradients.flatten()[2:].eq(0).all()

# %% [markdown]
# ## A trained network saturates too
#
# A digits classifier that is sure of its answer gives a probability near 1; the softmax is flat there.
# We explain the **probability** of the predicted class for the test digit the model is most sure of.

# %%
from ig_widget.examples import train_digits_cnn

digits_model, images, labels = train_digits_cnn()
with torch.no_grad():
    probabilities = digits_model(images).softmax(dim=1)
sure = int(probabilities.max(dim=1).values.argmax())
digit = images[sure:sure + 1]
result = igw.integrated_gradients(digits_model, digit, output="probability", steps=64)
print(f"class {result.target.item()}, probability {result.score.item():.4f} (black image: {result.baseline_score.item():.4f})")
plot.saturation_curve(result)

# %% [markdown]
# The score F(α) along the path climbs early and goes flat long before α = 1: everything that happens
# to the probability happens in the first part of the path.

# %%
alphas, scores = result.trace.alphas, result.trace.scores[:, 0]
change = (result.score - result.baseline_score).item()
reached = alphas[scores >= result.baseline_score.item() + 0.9 * change][0].item()
print(f"90% of the probability change is reached by alpha = {reached:.2f}")
assert reached < 0.6

# %% [markdown]
# So the gradient at the input (α = 1) is tiny compared with the gradients inside the path:

# %%
path = torch.linspace(0.02, 1.0, 50)
inner = igw.interior_gradients(digits_model, digit, alphas=path, output="probability")
size = inner.gradients.flatten(start_dim=2).norm(dim=2)[:, 0]
plt.figure(figsize=(4, 3))
plt.semilogy(path, size)
plt.xlabel("α"); plt.ylabel("‖interior gradient‖"); plt.title("gradient size along the path")
print(f"gradient size at the input: {size[-1]:.2e}, largest on the path: {size.max():.2e}")
assert size[-1] < 0.01 * size.max()

# %% [markdown]
# Side by side: the gradient at the input (saliency), the interior gradient where it is largest, and IG.
# The gradient map is nearly empty (its colour scale says how small its numbers are); IG's map adds up
# to the probability change.

# %%
gradient_map = igw.saliency(digits_model, digit, output="probability").attributions[0]
largest = int(size.argmax())
fig, axes = plt.subplots(1, 3, figsize=(11, 3))
plot.image_heatmap(gradient_map, image=digit[0], ax=axes[0], title="gradient at x", clip=100)
plot.image_heatmap(inner.gradients[largest, 0], image=digit[0], ax=axes[1],
                   title=f"gradient at α = {path[largest]:.2f}", clip=100)
plot.image_heatmap(result, ax=axes[2], title="integrated gradients")
fig.tight_layout()
print(f"sum of IG = {result.total.item():.4f}, F(x) - F(x') = {change:.4f}, "
      f"sum of gradient x input = {(gradient_map * digit[0]).sum().item():.4f}")
assert abs(result.relative_gap.item()) < 0.02
assert (gradient_map * digit[0]).sum().item() < 0.1 * change

# %% [markdown]
# The path as IG sees it: the scaled inputs (top) and the attributions collected up to each α (bottom).
# Most of the map is in place by the middle of the path, where the score was still moving.

# %%
plot.alpha_grid(result, count=6)

# %% [markdown]
# **Takeaway.** A gradient is local: it cannot see what already happened to the score. Integrated
# Gradients accumulates the gradient over the whole path from the baseline, so a feature that moved the
# score gets credit for it even if the score is flat at the input (sensitivity), and the credits add up
# to the score change (completeness).
