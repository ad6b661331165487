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
# # 9. Beyond the straight line, and checks that an explanation means something
#
# Integrated Gradients walks a straight line from a baseline to the input. Two newer path methods pick
# another path: **Blur IG** (Xu et al., CVPR 2020) starts from a heavily blurred copy of the input and
# sharpens it, so no baseline has to be invented; **Guided IG** (Kapishnikov et al., CVPR 2021) adapts
# the path to the model, moving first the pixels whose gradient is smallest. **IDGI** (Yang et al.,
# CVPR 2023) keeps, at each point of any of these paths, only the gradient's component along the
# direction that changes the score.
#
# A map is only worth showing if it survives checks: does it change when the model is randomized
# (Adebayo et al., NeurIPS 2018)? Does removing its top pixels first destroy the prediction fastest
# (deletion, Petsiuk et al., BMVC 2018)? Does it survive a shift of the input that the model undoes
# (Kindermans et al.)? This notebook runs all of them on a small digits CNN, in seconds on a CPU.

# %%
import matplotlib.pyplot as plt
import torch

import ig_widget as igw
from ig_widget import plot
from ig_widget.examples import DIGIT_LABELS, train_digits_cnn

model, images, labels = train_digits_cnn()  # a few seconds; 8 x 8 digits, values in [0, 1]
x = images[:1]
target = int(model(x).argmax())
print("predicted", DIGIT_LABELS[target], "true", DIGIT_LABELS[int(labels[0])])

# %% [markdown]
# ## Three paths, one result type
# Each call returns the same `AttributionResult` as `integrated_gradients`, with its trace: the views,
# the completeness badge and the figures work unchanged. Blur IG and Guided IG are path methods, so
# completeness (the attributions add up to F(x) − F(start)) holds up to the quadrature, like IG's.

# %%
straight = igw.integrated_gradients(model, x, target=target, steps=32)
blur = igw.blur_integrated_gradients(model, x, target=target, steps=32, max_sigma=4.0)
guided = igw.guided_integrated_gradients(model, x, target=target, steps=32)
for name, result in [("IG", straight), ("Blur IG", blur), ("Guided IG", guided)]:
    print(f"{name:10s} F(x) - F(start) = {float(result.score - result.baseline_score):6.3f}   "
          f"sum = {float(result.total):6.3f}   relative gap = {100 * float(result.relative_gap):+.2f}%")
    assert abs(float(result.relative_gap)) < 0.05

# %% [markdown]
# The alpha strip shows each path's own points: the blurred images sharpening, and the guided path
# filling in the pixels the model is least sensitive to first.

# %%
plot.alpha_grid(blur, count=6)
plot.alpha_grid(guided, count=6)

# %% [markdown]
# ## IDGI: exact completeness, whatever the steps
# IDGI's term at path point k is g_k² / |g_k|² · (F_{k+1} − F_k): each score change is handed to the
# features in proportion to their squared gradient. The score changes add up to F(x) − F(x′) exactly, so
# the gap is zero at any number of steps: the badge then says nothing about whether the path was
# sampled finely enough (compare the maps at 4 and 64 steps instead).

# %%
for steps in (4, 64):
    idgi = igw.integrated_gradients(model, x, target=target, steps=steps, idgi=True)
    print(f"IDGI at {steps:2d} steps: relative gap {float(idgi.relative_gap):+.1e}")
    assert abs(float(idgi.relative_gap)) < 1e-5

# %% [markdown]
# ## Sanity check: does the map depend on the model?
# Cascading randomization re-initialises the layers of a *copy* of the model from the output down and
# recomputes the map each time. IG's map changes (low SSIM with the original); an edge detector, which
# never looks at the model, gives the same map every time and fails.

# %%
import torch.nn.functional as F


def edge_detector(model, x, target=None):
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    return F.conv2d(x, kernel, padding=1)


ig_check = igw.sanity_check(model, images[:4], method="integrated_gradients", method_options={"steps": 16})
edge_check = igw.sanity_check(model, images[:4], method=edge_detector)
print("layers randomized, top first:", ig_check.layers)
print("IG    SSIM per layer:", ig_check.ssim.mean(dim=1).numpy().round(2), "passed:", ig_check.passed.tolist())
print("edges SSIM per layer:", edge_check.ssim.mean(dim=1).numpy().round(2), "passed:", edge_check.passed.tolist())
assert ig_check.passed.all() and not edge_check.passed.any()

fig, axes = plt.subplots(2, 4, figsize=(6, 3.2))
for column in range(4):
    for row, check in enumerate((ig_check, edge_check)):
        axes[row, column].imshow(check.maps[column, 0].numpy(), cmap="RdBu_r")
        axes[row, column].set_xticks([]); axes[row, column].set_yticks([])
        axes[0, column].set_title("trained" if column == 0 else f"- {ig_check.layers[column - 1]}", fontsize=7)
axes[0, 0].set_ylabel("IG"); axes[1, 0].set_ylabel("edges")

# %% [markdown]
# ## Deletion and insertion
# Remove the most-attributed pixels first and follow the class probability: a faithful map makes it fall
# fast (small area). A random ordering is the floor any map must beat.

# %%
batch = images[:16]
ig_batch = igw.integrated_gradients(model, batch, steps=32)
noise = torch.rand(batch.shape, generator=torch.Generator().manual_seed(0))
ours = igw.deletion_insertion(model, batch, ig_batch)
random_order = igw.deletion_insertion(model, batch, noise)
print(f"deletion area  IG {float(ours.deletion_area.mean()):.3f}   random {float(random_order.deletion_area.mean()):.3f}")
print(f"insertion area IG {float(ours.insertion_area.mean()):.3f}   random {float(random_order.insertion_area.mean()):.3f}")
assert ours.deletion_area.mean() < random_order.deletion_area.mean()

# %% [markdown]
# ## Input invariance
# Shift every pixel by −1 and let the model undo the shift: the same function. IG with a black baseline
# moves (the baseline did not move with the input); with a blurred baseline it does not.

# %%
black = igw.input_invariance(model, images[:4], method="integrated_gradients", shift=-1.0)
blurred = igw.input_invariance(model, images[:4], method="integrated_gradients",
                               method_options={"baseline": "blur"}, shift=-1.0)
print("black baseline invariant:", black.invariant.tolist())
print("blur baseline invariant: ", blurred.invariant.tolist())
assert not black.invariant.any() and blurred.invariant.all()

# %% [markdown]
# ## Which explanation to trust, side by side
# Every method on the same input and class, each with its completeness gap, deletion and insertion
# areas and sanity check: the Distill article on baselines, on your own model. `MethodComparison`
# computes them in the background (the notebook stays free) and shows each card as soon as its method
# and checks are done; a saved notebook or an `igw.export_html` page shows it without a kernel. Pick
# another class in its Target menu (or set `w.target = 3`) and the cards are computed again for it. The
# model is never changed: the methods run on the engine's twin and the sanity check randomizes a copy.

# %%
w = igw.MethodComparison(model, x[0], labels=DIGIT_LABELS, target=target, steps=16)
w

# %% [markdown]
# Every number the view prints is one that `w.compared` holds (the same as `compare_methods` returns);
# `plot.method_comparison` draws them as a static figure.

# %%
compared = w.wait()
print(f"{'method':18s} {'gap':>9s} {'deletion':>9s} {'insertion':>9s}  sanity")
for method in compared:
    gap = "-" if method.gap is None else f"{method.gap:.3g}"
    print(f"{method.name:18s} {gap:>9s} {method.deletion_area:9.3f} {method.insertion_area:9.3f}  "
          f"{'passes' if method.sanity_passed else 'FAILS'} (SSIM {method.sanity_ssim:.2f})")
plot.method_comparison(compared, image=x[0])
assert all(method.sanity_passed for method in compared)
