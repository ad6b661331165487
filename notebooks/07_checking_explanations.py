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
# # 7. Checking an explanation
#
# An attribution map is a claim about the model. Two checks that cost little: **completeness** (do the
# numbers add up to the score change, or were there too few steps?) and **deletion / insertion** (if
# these pixels matter, removing them first should hurt the score fastest, and adding them first should
# restore it fastest, faster than a random order).

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import ig_widget as igw
from ig_widget import plot
from ig_widget.examples import train_digits_cnn

model, images, labels = train_digits_cnn()
batch = images[:8]

# %% [markdown]
# ## Completeness against the number of steps, per quadrature rule
#
# IG's integral is computed with a quadrature rule. Left and right Riemann sums converge like 1/steps,
# the midpoint and trapezoid rules like 1/steps², and Gauss-Legendre faster still on smooth paths. The
# mean |relative gap| over eight digits:

# %%
step_counts = [4, 8, 16, 32, 64]
gaps = {
    rule: [igw.integrated_gradients(model, batch, steps=steps, rule=rule, trace=False).relative_gap.abs().mean().item()
           for steps in step_counts]
    for rule in igw.RULES
}
plt.figure(figsize=(5, 3.5))
for rule, values in gaps.items():
    plt.loglog(step_counts, values, marker="o", label=rule)
plt.xlabel("steps"); plt.ylabel("mean |relative gap|"); plt.legend(fontsize=8); plt.title("completeness vs steps")
for rule, values in gaps.items():
    print(f"{rule:>18}: " + "  ".join(f"{v:.2%}" for v in values))

# %%
for rule, values in gaps.items():
    assert values[-1] < values[0], rule  # more steps, smaller gap
assert gaps["gausslegendre"][step_counts.index(32)] < 0.01
assert gaps["gausslegendre"][-1] < gaps["riemann_left"][-1]

# %% [markdown]
# A gap of a few percent means the map is not yet the integral; raise `steps` before reading fine
# detail. The completeness curve shows where along the path the attributions accumulate:

# %%
plot.completeness_curve(igw.integrated_gradients(model, batch[:1], steps=64))

# %% [markdown]
# ## Deletion and insertion
#
# Rank the pixels by attribution, most positive first. **Deletion**: set them to black in that order and
# watch the probability of the explained class fall; a faithful ranking makes it fall early (small area
# under the curve). **Insertion**: start from black and put the pixels back in that order; a faithful
# ranking brings the probability back early (large area). A random order is the yardstick.

# %%
fractions = np.linspace(0, 1, 17)

def perturbation_curves(model, start, end, orders, targets):
    """Probability of each target while the pixels of `start` are replaced by those of `end`,
    a growing fraction at a time, in each row's `order`; returns [rows, fractions]."""
    rows, pixels = orders.shape
    curves = []
    for fraction in fractions:
        count = int(round(fraction * pixels))
        chosen = torch.zeros(rows, pixels, dtype=torch.bool)
        chosen.scatter_(1, orders[:, :count], True)
        mixed = torch.where(chosen.view_as(start), end, start)
        with torch.no_grad():
            curves.append(model(mixed).softmax(dim=1).gather(1, targets[:, None])[:, 0])
    return torch.stack(curves, dim=1)

sample = images[:48]
explained = igw.integrated_gradients(model, sample, steps=32)
targets = explained.target
by_attribution = explained.attributions.flatten(1).argsort(dim=1, descending=True)
generator = torch.Generator().manual_seed(0)
at_random = torch.stack([torch.randperm(64, generator=generator) for _ in range(len(sample))])
black = torch.zeros_like(sample)

curves = {
    ("deletion", "IG"): perturbation_curves(model, sample, black, by_attribution, targets),
    ("deletion", "random"): perturbation_curves(model, sample, black, at_random, targets),
    ("insertion", "IG"): perturbation_curves(model, black, sample, by_attribution, targets),
    ("insertion", "random"): perturbation_curves(model, black, sample, at_random, targets),
}
def area_under(curve):
    mean = curve.mean(dim=0).numpy()
    return float(np.sum((mean[1:] + mean[:-1]) / 2 * np.diff(fractions)))  # trapezoid rule

area = {key: area_under(curve) for key, curve in curves.items()}

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for axis, kind in zip(axes, ("deletion", "insertion")):
    for order in ("IG", "random"):
        axis.plot(fractions, curves[(kind, order)].mean(dim=0), label=f"{order} (area {area[(kind, order)]:.2f})")
    axis.set_title(kind); axis.set_xlabel("fraction of pixels changed"); axis.set_ylabel("probability"); axis.legend()
fig.tight_layout()

# %%
print({f"{kind} {order}": round(float(value), 3) for (kind, order), value in area.items()})
assert area[("deletion", "IG")] < area[("deletion", "random")]
assert area[("insertion", "IG")] > area[("insertion", "random")]

# %% [markdown]
# Both checks pass here. Keep in mind what they measure: deletion to black asks what the model does on
# images it never saw (half-erased digits), so these curves test the ranking and the model together.
# They catch a broken explanation; they do not prove a good one.
#
# **Takeaway.** Check completeness before reading a map (it costs nothing: the result carries its gap),
# and check a ranking against a random one before trusting it.
