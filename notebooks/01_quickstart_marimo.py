import marimo

__generated_with = "0.25.2"
# Full width: the image view then lays its controls, maps and outputs out side by side and stays about
# as tall as marimo's output area in the editor (610 px, scrolled beyond that); the path section follows.
app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo

    return (mo,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # 1. Quickstart in marimo: explain a prediction

    The same small convolutional network as in `01_quickstart.ipynb`, trained on scikit-learn's
    handwritten digits in a few seconds on a CPU. **Integrated Gradients** (IG) walks a straight path
    from a *baseline* x′ (a black image) to the input x and adds up the gradients on the way; what it
    hands out sums to the change of the score, Σᵢ IGᵢ = F(x) − F(x′) (*completeness*).

    In marimo an ig-widget explainer is wrapped with `mo.ui.anywidget(...)`: the view is the same, and
    its synced state becomes the element's reactive `value`, so cells that read it run again when you
    click in the view.
    """)
    return


@app.cell
def _():
    import ig_widget as igw
    from ig_widget.examples import DIGIT_LABELS, accuracy, train_digits_cnn

    model, images, labels = train_digits_cnn()  # a few seconds; 8x8 digits with values in [0, 1]
    test_accuracy = accuracy(model, images, labels)
    return DIGIT_LABELS, igw, images, model, test_accuracy


@app.cell(hide_code=True)
def _(mo, test_accuracy):
    mo.md(f"""
    Test accuracy: **{test_accuracy:.1%}**. In the view below: the heat map (orange pixels pushed the
    explained class's score up, purple ones down; hover for numbers), the outputs (click one to explain
    it), the α slider (walk from the baseline at α = 0 to the input at α = 1; arrow keys step), and the
    completeness badge.
    """)
    return


@app.cell
def _(DIGIT_LABELS, igw, images, mo, model):
    explainer = igw.ImageExplainer(model, images[3], labels=DIGIT_LABELS)
    explainer.wait()  # the first result is computed in the background: wait, so the next cells can read it
    view = mo.ui.anywidget(explainer)
    view
    return explainer, view


@app.cell
def _(DIGIT_LABELS, explainer, mo, view):
    # runs again whenever the view's state changes: click a class above and watch this line follow
    chosen = view.value["target"]
    result = explainer.explanation
    gap = "still computing" if result is None else f"completeness gap {100 * result.relative_gap.item():+.2f}%"
    mo.md(f"The view explains class **{DIGIT_LABELS[chosen]}** (`view.value['target']` = {chosen}, "
          f"the explainer's `target` = {explainer.target}; {gap}).")
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## The same figures for a paper

    `ig_widget.plot` draws what the view shows as matplotlib figures; marimo shows a figure returned
    as a cell's last expression.
    """)
    return


@app.cell
def _(DIGIT_LABELS, explainer):
    import matplotlib.pyplot as plt

    from ig_widget import plot

    shown = explainer.explanation
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    plot.image_heatmap(shown, ax=axes[0], title=f"IG for class {DIGIT_LABELS[shown.target.item()]}")
    plot.saturation_curve(shown, ax=axes[1])
    plot.completeness_curve(shown, ax=axes[2])
    fig.tight_layout()
    fig
    return


if __name__ == "__main__":
    app.run()
