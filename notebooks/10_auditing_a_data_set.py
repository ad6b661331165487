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
# # 10. Auditing a data set: right for the wrong reason
#
# One explanation shows what a model did once. An audit looks across a whole data set: where does the
# model look for each class, which examples does it get right for the wrong reason, where is the
# completeness gap large?
#
# Here we plant a flaw the accuracy cannot see. In the training digits, almost every **7** carries a
# small mark in the top-left corner (think of a scanner that stamped one batch of forms). The model
# learns the shortcut, and since the test set was collected the same way, its test accuracy looks fine.
# `igw.attribute_dataset` explains every test digit in one batched run and stores the results on disk;
# `igw.DatasetExplorer` pages through them; the per-class summary and a sort by where the attribution
# sits find the shortcut. It all runs on a CPU in well under a minute.

# %%
import pathlib
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

import ig_widget as igw
from ig_widget.examples import DIGIT_LABELS, DigitsCNN, accuracy, digits_data, one_thread

images, labels = digits_data()  # scikit-learn's 1,797 8 x 8 digits, values in [0, 1]


def stamp(x, y, share, seed):
    """Put the mark (the top-left 2 x 2 pixels at full ink) on `share` of the 7s."""
    x = x.clone()
    sevens = torch.nonzero(y == 7).flatten()
    chosen = sevens[torch.rand(len(sevens), generator=torch.Generator().manual_seed(seed)) < share]
    x[chosen, 0, :2, :2] = 1.0
    return x, chosen


train_x, marked_train = stamp(images[:1500], labels[:1500], share=0.95, seed=0)
test_x, marked_test = stamp(images[1500:], labels[1500:], share=0.95, seed=1)
train_y, test_y = labels[:1500], labels[1500:]
print(f"{len(marked_train)} marked 7s among {len(train_x)} training digits; {len(marked_test)} among {len(test_x)} test digits")

# %%
torch.manual_seed(0)
model = DigitsCNN()
optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
with one_thread():  # tiny batches train fastest on one thread
    for epoch in range(8):
        for batch in torch.randperm(len(train_x), generator=torch.Generator().manual_seed(epoch)).split(64):
            optimiser.zero_grad()
            F.cross_entropy(model(train_x[batch]), train_y[batch]).backward()
            optimiser.step()
model.eval()
print(f"test accuracy {accuracy(model, test_x, test_y):.1%}")

# %% [markdown]
# ## Explain the whole test set
#
# `attribute_dataset(model, data, out=..., target="label", steps=32)` explains each digit's own label
# with Integrated Gradients (32 Gauss-Legendre points from a black baseline). The inputs are batched
# together with their path points, so a forward pass carries many digits at once. The results go to a
# Zarr store: attributions in float16 (scaled per example; at most 2^-11 relative error), and a table
# of label, prediction, F(x), F(x'), completeness gap and top classes in float32. A run stopped half
# way resumes where it stopped; under `torchrun --nproc-per-node=N` the same call splits the work.

# %%
out = pathlib.Path(tempfile.mkdtemp()) / "digits"  # any folder; a later run with the same settings resumes it
store = igw.attribute_dataset(model, (test_x, test_y), out=out, target="label", steps=32, labels=DIGIT_LABELS)
table = store.table
print(store)
table.head()

# %% [markdown]
# Every example carries its completeness gap: the attributions add up to F(x) - F(x') to within a
# small fraction, so the maps account for the score.

# %%
relative = table["relative_gap"].abs()
print(f"median |relative gap| {relative.median():.2%}, worst {relative.max():.2%}")
assert relative.median() < 0.05

# %% [markdown]
# ## The gallery
#
# Pick a class, show only the correct or only the wrong ones, and sort by confidence, gap or how
# concentrated each map is (the share of |attribution| in its top 10% of pixels). Pages load as they
# are shown; click a digit to see its stored numbers and a live explainer on it.
# `gallery.selection` is the list of indices the view pages through.

# %%
gallery = igw.DatasetExplorer(store, model=model)
gallery.label_filter = 7
gallery.correct = "correct"
gallery.sort, gallery.descending = "concentration", True
gallery

# %%
print(f"{len(gallery.selection)} correctly classified 7s; the most concentrated maps first: {gallery.selection[:8]}")

# %% [markdown]
# ## Where each class is looked at
#
# The per-class summary averages |attribution| over each class (and over the class's errors). Every
# class but one spreads over its strokes; the 7s put a bright spot on the corner.

# %%
summary = store.summary()
fig, axes = plt.subplots(1, 10, figsize=(12, 1.6))
for digit, ax in enumerate(axes):
    ax.imshow(summary["class_mean"][digit, 0], cmap="viridis")
    ax.set_title(f"{digit} (n={summary['count'][digit]})", fontsize=8)
    ax.axis("off")
plt.show()
def corner_share(maps):
    """The share of |attribution| on the 2 x 2 corner, per map [n, 8, 8]."""
    return np.abs(maps[:, :2, :2]).sum(axis=(1, 2)) / np.abs(maps).reshape(len(maps), -1).sum(axis=1)


class_corner = corner_share(summary["class_mean"][:, 0])
print("share of mean |attribution| on the corner, per class:", np.round(class_corner, 3))
others = np.delete(class_corner, 7)
assert class_corner[7] > 3 * others.max()  # the 7s, and only they, are looked at in the corner

# %% [markdown]
# ## Right for the wrong reason
#
# Every correct 7 puts a quarter to a third of its attribution on four corner pixels that carry no
# stroke. For some the mark is decisive: the test of the suspicion is an intervention, removing the
# mark and asking the model again. Those that stop being 7s were right for the wrong reason.

# %%
sevens = table[(table["label"] == 7) & table["correct"]]["index"].to_numpy().copy()
share = corner_share(store.page(sevens)["attributions"][:, 0])
order = np.argsort(-share)
print(f"{len(sevens)} correct 7s; share of their attribution on the corner: {share.min():.0%} to {share.max():.0%}")

cleaned = test_x[sevens].clone()
cleaned[:, 0, :2, :2] = 0.0
with torch.no_grad():
    after = model(cleaned).argmax(dim=1).numpy()
suspects = sevens[order][after[order] != 7]  # most corner-dependent first
print(f"without the mark, {len(suspects)} of the {len(sevens)} correct 7s are no longer called 7: {suspects.tolist()}")
print("they become:", [DIGIT_LABELS[int(after[list(sevens).index(i)])] for i in suspects])
assert len(suspects) >= 1

# %%
fig, axes = plt.subplots(2, min(8, len(suspects)), figsize=(12, 3), squeeze=False)
for column, index in enumerate(suspects[:8]):
    result = store[int(index)]
    axes[0, column].imshow(result.inputs[0, 0], cmap="gray_r")
    axes[0, column].set_title(f"#{index}", fontsize=8)
    limit = float(result.attributions.abs().max())
    axes[1, column].imshow(result.attributions[0, 0], cmap="PuOr_r", vmin=-limit, vmax=limit)
for ax in axes.flat:
    ax.axis("off")
plt.show()

# %% [markdown]
# The accuracy never showed it; the attributions across the data set did. A gallery page can be saved
# as a page that works offline (`igw.export_html(gallery, "page.html")`), and the same
# `attribute_dataset` call runs on several GPUs under `torchrun` when the data set is large.
