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
# # 1. Quickstart: explain a prediction
#
# We train a small convolutional network on scikit-learn's handwritten digits (it takes seconds on a
# laptop CPU), ask it about one digit, and let **Integrated Gradients** (IG) show which pixels the
# answer rests on. IG walks a straight path from a *baseline* x′ (here a black image) to the input x
# and adds up the gradients on the way. What it hands out sums to the change of the score:
#
# Σᵢ IGᵢ = F(x) − F(x′)   (*completeness*)
#
# so every attribution is a share of a real number you can check.

# %%
import ig_widget as igw
from ig_widget.examples import DIGIT_LABELS, accuracy, train_digits_cnn

model, images, labels = train_digits_cnn()  # a few seconds; test images are 8x8, values in [0, 1]
print(f"test accuracy: {accuracy(model, images, labels):.1%}")
assert accuracy(model, images, labels) > 0.9

# %% [markdown]
# ## The widget
#
# `ImageExplainer(model, image, labels)` explains the model's top prediction for one image. In the view:
#
# - the **heatmap** over the digit: orange pixels pushed the score of the explained class up, purple ones
#   pushed it down (hover a pixel for its number);
# - the **classes** list: click another class to explain that one instead;
# - the **α slider**: move along the path from the baseline (α = 0) to the input (α = 1) and watch the
#   attributions build up and the score F(α) change;
# - the **completeness badge**: how far Σ attributions is from F(x) − F(x′). A small gap means the
#   numbers add up; a large one means too few steps (raise `steps`) or a model that is not smooth.

# %%
digit = images[3]
explainer = igw.ImageExplainer(model, digit, labels=DIGIT_LABELS)
explainer.wait()  # the first result is computed in the background; wait so the next cell can read it
explainer

# %% [markdown]
# The result behind the view is an ordinary Python object: the attributions, the scores at both ends of
# the path, and the completeness gap the badge shows.

# %%
result = explainer.explanation
change = (result.score - result.baseline_score).item()
print(f"explaining class {explainer.target} ({DIGIT_LABELS[explainer.target]!r})")
print(f"F(x) - F(x') = {change:.3f}, sum of attributions = {result.total.item():.3f}, "
      f"gap = {result.gap.item():+.4f} ({100 * result.relative_gap.item():+.2f}%)")
assert explainer.target == int(model(digit[None]).argmax())  # the top class is explained by default
assert abs(result.relative_gap.item()) < 0.02  # completeness holds to 2% with the default 32 steps

# %% [markdown]
# ## Another class
#
# Clicking a class in the view sets `target`; from code it is one assignment (`explainer.target = 8`
# retargets the view above). Here a second widget asks why the network did *not* say "8", so the one
# above keeps explaining the top prediction: its map shows the pixels that argue against an 8.

# %%
not_eight = igw.ImageExplainer(model, digit, labels=DIGIT_LABELS, target=8)
not_eight.wait()
other = not_eight.explanation
assert other.target.item() == 8 and explainer.target != 8  # the first widget still shows the top class
assert abs(other.relative_gap.item()) < 0.02
print(f"class 8: F(x) = {other.score.item():.2f}, F(x') = {other.baseline_score.item():.2f}")
not_eight

# %% [markdown]
# ## The same figures for a paper
#
# `ig_widget.plot` draws what the widget shows as matplotlib figures.

# %%
import matplotlib.pyplot as plt

from ig_widget import plot

fig, axes = plt.subplots(1, 3, figsize=(10, 3))
plot.image_heatmap(result, ax=axes[0], title=f"IG for class {DIGIT_LABELS[result.target.item()]}")
plot.saturation_curve(result, ax=axes[1])
plot.completeness_curve(result, ax=axes[2])
fig.tight_layout()

# %% [markdown]
# ## Your own model
#
# Any PyTorch classifier works: give it the model, an image, and the preprocessing the model expects.
# For a torchvision ResNet-50 and a photo of your own it is the cell below. It needs torchvision (not a
# dependency of ig-widget), the weights (downloaded once), and `cat.jpg` beside the notebook; without
# them it says what is missing and changes nothing.

# %%
import pathlib

from IPython.display import display

try:
    from torchvision.models import ResNet50_Weights, resnet50
except ImportError:
    print("torchvision is not installed, so this cell stops here (pip install torchvision to run it)")
else:
    if not pathlib.Path("cat.jpg").exists():
        print("put a photo at cat.jpg beside this notebook to explain what ResNet-50 sees in it")
    else:
        from PIL import Image

        weights = ResNet50_Weights.DEFAULT
        display(igw.ImageExplainer(resnet50(weights=weights), Image.open("cat.jpg"),
                                   labels=weights.meta["categories"], preprocess=weights.transforms()))

# %% [markdown]
# To share what you see, `igw.export_html(explainer, "digit.html")` writes a page that opens in any
# browser without Jupyter: the slider and hover work there, and so do the classes computed before export.
