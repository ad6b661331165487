"""`python -m ig_widget.demo`: see ig-widget work in under a minute.

With a display, JupyterLab opens on the quickstart notebook. Without one (a server, CI), the demo
explains a digit in the terminal, runs the quickstart, and writes it as a page that opens offline in
any browser, then says where the page is.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
QUICKSTART = REPOSITORY / "notebooks" / "01_quickstart.ipynb"
DEFAULT_OUT = pathlib.Path("build") / "demo"


def has_display() -> bool:
    """Whether a browser window can be opened here."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_jupyterlab(notebook: pathlib.Path) -> int:
    print(f"Opening JupyterLab on {notebook} (stop it with Ctrl-C)")
    return subprocess.call([sys.executable, "-m", "jupyterlab", str(notebook)])


def explain_one_digit() -> None:
    """The engine alone: one attribution, and the check that makes it trustworthy."""
    import ig_widget as igw
    from ig_widget.examples import train_digits_cnn

    model, images, labels = train_digits_cnn()
    result = igw.integrated_gradients(model, images[:1], baseline="black", steps=32)
    strongest = int(result.attributions[0].flatten().abs().argmax())
    row, column = divmod(strongest, images.shape[-1])
    print(
        f"digit {labels[0].item()} predicted as {result.target.item()}: F(x) = {result.score.item():.3f}, "
        f"F(black) = {result.baseline_score.item():.3f}"
    )
    print(
        f"strongest pixel (row {row}, column {column}): attribution "
        f"{result.attributions[0].flatten()[strongest].item():+.3f}"
    )
    print(
        f"sum of attributions {result.total.item():.3f} vs F(x) - F(x') "
        f"{(result.score - result.baseline_score).item():.3f}: completeness gap {result.gap.item():+.2e} "
        f"({100 * result.relative_gap.item():+.3f}%)"
    )


def write_quickstart_page(out: pathlib.Path) -> pathlib.Path:
    """Run the quickstart notebook (widget state stored) and export it as an offline page whose
    explainers switch between their listed outputs, as an `export_html` page does."""
    import json

    import nbclient
    import nbformat

    from ig_widget.export import export_notebook_html

    out.mkdir(parents=True, exist_ok=True)
    book = nbformat.read(QUICKSTART, as_version=4)
    results = out / "precomputed.json"
    # one more cell, in the kernel that ran the notebook, gathers the results of its explainers
    book.cells.append(
        nbformat.v4.new_code_cell(
            "import pathlib as _pathlib, json as _json\n"
            "from ig_widget.export import precomputed_results as _precomputed_results\n"
            f"_pathlib.Path({str(results)!r}).write_text(_json.dumps(_precomputed_results(list(globals().values()))))"
        )
    )
    nbclient.NotebookClient(
        book,
        timeout=300,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(QUICKSTART.parent)}},
    ).execute()
    book.cells.pop()
    executed = out / QUICKSTART.name
    nbformat.write(book, executed)
    precomputed = json.loads(results.read_text())
    results.unlink()
    return export_notebook_html(executed, out / QUICKSTART.with_suffix(".html").name, precomputed=precomputed)


def write_widget_page(out: pathlib.Path) -> pathlib.Path:
    """Without the repository's notebooks (an installed package): one explainer as an offline page."""
    import ig_widget as igw
    from ig_widget.examples import DIGIT_LABELS, train_digits_cnn

    out.mkdir(parents=True, exist_ok=True)
    model, images, _ = train_digits_cnn()
    explainer = igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS)
    explainer.wait()
    return igw.export_html(explainer, out / "digit_explainer.html", title="ig-widget demo: one digit")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ig_widget.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--headless", action="store_true", help="never open a browser, even with a display")
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help=f"where pages go (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if has_display() and not args.headless and QUICKSTART.exists():
        return open_jupyterlab(QUICKSTART)
    start = time.perf_counter()
    explain_one_digit()
    page = write_quickstart_page(args.out) if QUICKSTART.exists() else write_widget_page(args.out)
    print(f"\nNo display here, so the quickstart was run and saved as a page that works offline:\n  {page.resolve()}")
    print(
        f"Open it in any browser (the α slider and hover work without a kernel). Done in {time.perf_counter() - start:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
