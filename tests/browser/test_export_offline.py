"""The exported page works offline in Chromium: the widget draws from its inlined binary state, its
slider changes the drawing, and what needs a kernel is refused in the widget, not silently."""

from __future__ import annotations

import pathlib

import anywidget
import pytest
import traitlets
from offline_page import open_offline

import ig_widget as igw

pytestmark = pytest.mark.browser

# A front end in the anywidget shape that depends on what the shim provides: a DataView buffer
# (`pixels`), get/set/on/save_changes, and send() for a kernel round trip.
PROBE_ESM = """
export default {
  render({ model, el }) {
    const canvas = document.createElement("canvas");
    canvas.width = 4; canvas.height = 4;
    const slider = document.createElement("input");
    slider.type = "range"; slider.min = "0"; slider.max = "255"; slider.value = String(model.get("level"));
    const message = document.createElement("p");
    message.className = "message";
    const button = document.createElement("button");
    button.textContent = "recompute";
    const draw = () => {
      const bytes = model.get("pixels");
      const image = canvas.getContext("2d").createImageData(4, 4);
      for (let i = 0; i < 16; i += 1) {
        const v = Math.min(255, bytes.getUint8(i) + model.get("level"));
        image.data.set([v, v, v, 255], 4 * i);
      }
      canvas.getContext("2d").putImageData(image, 0, 0);
    };
    const showError = () => { message.textContent = model.get("error"); };
    slider.addEventListener("input", () => { model.set("level", Number(slider.value)); model.save_changes(); });
    button.addEventListener("click", () => model.send({ type: "recompute" }));
    model.on("change:level", draw);
    model.on("change:error", showError);
    draw();
    el.append(canvas, slider, button, message);
    return () => { model.off("change:level", draw); model.off("change:error", showError); };
  },
};
"""


class ProbeWidget(anywidget.AnyWidget):
    _esm = PROBE_ESM
    pixels = traitlets.Bytes(bytes(range(16))).tag(sync=True)
    level = traitlets.Int(0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)


def canvas_pixels(page, index: int = 0, selector: str = "canvas") -> list[int]:
    return page.evaluate(
        """([selector, index]) => { const c = document.querySelectorAll(selector)[index];
                        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""",
        [selector, index],
    )


def test_exported_page_draws_from_inlined_buffers_and_its_slider_redraws(browser, tmp_path):
    widget = ProbeWidget(level=10)
    path = igw.export_html([widget], tmp_path / "page.html", title="probe </script><b>x</b>")
    page, attempted = open_offline(browser, path)
    before = canvas_pixels(page)
    assert before[0::4] == [min(255, i + 10) for i in range(16)], "the canvas shows the buffer's bytes + level"
    page.locator("input[type=range]").fill("200")
    after = canvas_pixels(page)
    assert after[0::4] == [min(255, i + 200) for i in range(16)]
    assert attempted == [], f"the page tried the network: {attempted}"
    assert page.title() == "probe </script><b>x</b>"  # the title is text, not markup
    assert widget.level == 10  # exporting never changes the live widget


def test_what_needs_the_kernel_says_so(browser, tmp_path):
    path = igw.export_html(ProbeWidget(), tmp_path / "page.html")
    page, _ = open_offline(browser, path)
    page.locator("button").click()
    assert "needs a running kernel" in page.locator(".message").text_content()


def test_two_widgets_render_independently(browser, tmp_path):
    path = igw.export_html([ProbeWidget(level=0), ProbeWidget(level=100)], tmp_path / "page.html")
    page, attempted = open_offline(browser, path)
    assert canvas_pixels(page, 0)[0] == 0 and canvas_pixels(page, 1)[0] == 100
    page.locator("input[type=range]").nth(1).fill("50")
    assert canvas_pixels(page, 0)[0] == 0 and canvas_pixels(page, 1)[0] == 50
    assert attempted == []


def convert_with_function(executed: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    return igw.export_notebook_html(executed, out)


def convert_with_nbconvert(executed: pathlib.Path, out: pathlib.Path) -> pathlib.Path:
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbconvert",
            "--to",
            "ig_widget_html",
            str(executed),
            "--output",
            out.stem,
            "--output-dir",
            str(out.parent),
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.mark.parametrize(
    "convert", [convert_with_function, convert_with_nbconvert], ids=["export_notebook_html", "nbconvert"]
)
def test_an_executed_notebook_exports_to_an_offline_page(browser, tmp_path, convert):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    book = nbformat.v4.new_notebook()
    book.cells = [
        nbformat.v4.new_markdown_cell("# A notebook with a widget"),
        nbformat.v4.new_code_cell(
            "import anywidget, traitlets\n"
            "class ProbeWidget(anywidget.AnyWidget):\n"
            f"    _esm = {PROBE_ESM!r}\n"
            "    pixels = traitlets.Bytes(bytes(range(16))).tag(sync=True)\n"
            "    level = traitlets.Int(0).tag(sync=True)\n"
            "    error = traitlets.Unicode('').tag(sync=True)\n"
        ),
        nbformat.v4.new_code_cell("ProbeWidget(level=7)"),
    ]
    nbclient.NotebookClient(book, timeout=60, kernel_name="python3", store_widget_state=True).execute()
    executed = tmp_path / "probe.ipynb"
    nbformat.write(book, executed)
    path = convert(executed, tmp_path / "probe.html")
    assert "cdn.jsdelivr" not in path.read_text() and "unpkg.com" not in path.read_text()
    page, attempted = open_offline(browser, path)
    assert page.locator("h1").first.text_content().startswith("A notebook with a widget")
    assert canvas_pixels(page)[0::4] == [i + 7 for i in range(16)]
    page.locator("input[type=range]").fill("100")
    assert canvas_pixels(page)[0] == 100
    assert attempted == [], f"the page tried the network: {attempted}"


def test_image_explainer_page_works_offline(browser, tmp_path, digits):
    from ig_widget.examples import DIGIT_LABELS

    model, images, _ = digits
    explainer = igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=16)
    explainer.wait()
    shown = [output["index"] for output in explainer.outputs]
    path = igw.export_html(explainer, tmp_path / "digit.html")
    page, attempted = open_offline(browser, path)
    heat = lambda: canvas_pixels(page, selector="canvas[data-map=attributions]")
    accumulated = lambda: canvas_pixels(page, selector="canvas[data-map=cumulative]")
    first = heat()
    assert len(set(first)) > 4, "the heatmap is blank"

    at_input = accumulated()
    page.locator(".igw-slider input[type=range]").press("Home")  # alpha at the baseline end
    assert accumulated() != at_input, "moving the slider changed nothing"

    other = shown[1]
    page.locator(f".igw-output[data-index='{other}']").click()  # precomputed at export: answered in the page
    page.wait_for_function(
        f"document.querySelector(\".igw-output[data-index='{other}']\").getAttribute('aria-pressed') === 'true'"
    )
    assert heat() != first
    assert not page.locator(".igw-error").is_visible()

    assert_static_controls(page.locator(".igw-image"))
    assert attempted == [], f"the page tried the network: {attempted}"
    assert explainer.target == shown[0] and explainer.baseline == "black"  # the live widget is untouched


def pressed_matches_the_map(view) -> str:
    """The highlighted output is the one the heatmap explains; returns its label."""
    pressed = view.locator(".igw-output[aria-pressed=true] .igw-output-label")
    assert pressed.count() == 1
    label = pressed.text_content()
    caption = view.locator("figure:has(canvas[data-map=attributions]) figcaption").text_content()
    assert caption == f"Attributions for “{label}”"
    return label


def assert_static_controls(view) -> None:
    """Settings the page holds no result for are disabled, under a visible note."""
    note = view.locator(".igw-static-note")
    assert note.is_visible() and "Static page" in note.text_content()
    for name in ("Baseline", "Rule", "Steps"):
        assert view.get_by_label(name, exact=True).is_disabled(), f"{name} needs a kernel here"
    assert view.locator(".igw-badge-row button").is_disabled()  # More steps


def test_a_typed_setting_the_page_cannot_answer_snaps_back(browser, tmp_path, digits):
    """Steps stay enabled where the page holds two step counts; one it does not hold is refused like
    the kernel refuses it: the field shows the page's value again and says why beside it."""
    from ig_widget.examples import DIGIT_LABELS

    model, images, _ = digits
    explainer = igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=8)
    explainer.wait()
    explainer.steps = 16
    explainer.wait()
    page, attempted = open_offline(browser, igw.export_html(explainer, tmp_path / "digit.html"))
    view = page.locator(".igw-image")
    field = view.get_by_label("Steps", exact=True)
    assert field.is_enabled() and view.get_by_label("Baseline", exact=True).is_disabled()
    heat = canvas_pixels(page, selector="canvas[data-map=attributions]")
    field.fill("5000")
    field.press("Enter")
    assert field.input_value() == "16"
    message = view.locator(".igw-control:has(input[type=number]) .igw-control-note")
    assert message.is_visible() and "needs a running kernel" in message.text_content()
    assert canvas_pixels(page, selector="canvas[data-map=attributions]") == heat
    field.fill("8")  # held: answered in the page
    field.press("Enter")
    page.wait_for_function("document.querySelector('.igw-badge').textContent !== ''")
    assert field.input_value() == "8" and not message.is_visible()
    assert canvas_pixels(page, selector="canvas[data-map=attributions]") != heat
    assert attempted == []


def test_nbconvert_page_of_an_explainer_switches_only_to_what_it_holds(browser, tmp_path, artifacts):
    """`jupyter nbconvert --to ig_widget_html` keeps only the saved result: the other outputs are
    disabled (a click there used to move the highlight while the map stayed on the old class)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    book = nbformat.v4.new_notebook()
    book.cells = [
        nbformat.v4.new_code_cell(
            "import ig_widget as igw\n"
            "from ig_widget.examples import DIGIT_LABELS, train_digits_cnn\n"
            "model, images, _ = train_digits_cnn(size=8, epochs=8, seed=0)\n"
            "w = igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=16)\n"
            "w.wait()\n"
            "w"
        )
    ]
    nbclient.NotebookClient(book, timeout=120, kernel_name="python3", store_widget_state=True).execute()
    executed = tmp_path / "digit.ipynb"
    nbformat.write(book, executed)
    page, attempted = open_offline(browser, convert_with_nbconvert(executed, tmp_path / "digit.html"))
    view = page.locator(".igw-image")
    shown = pressed_matches_the_map(view)
    heat = canvas_pixels(page, selector="canvas[data-map=attributions]")
    others = page.locator(".igw-output[aria-pressed=false]")
    assert others.count() >= 1
    assert all(others.nth(i).is_disabled() for i in range(others.count()))
    others.first.click(force=True)  # a disabled button: nothing happens, and nothing disagrees
    assert pressed_matches_the_map(view) == shown
    assert canvas_pixels(page, selector="canvas[data-map=attributions]") == heat
    assert_static_controls(view)
    page.screenshot(path=artifacts / "nbconvert_static_page.png", full_page=True)
    assert attempted == [], f"the page tried the network: {attempted}"


@pytest.mark.slow
def test_the_executed_quickstart_exports_to_a_working_offline_page(browser, tmp_path):
    """The tutorial as a reader shares it: run, saved with widget state, converted, opened offline."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    quickstart = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"
    book = nbformat.read(quickstart, as_version=4)
    nbclient.NotebookClient(
        book,
        timeout=120,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(quickstart.parent)}},
    ).execute()
    executed = tmp_path / quickstart.name
    nbformat.write(book, executed)
    page, attempted = open_offline(browser, igw.export_notebook_html(executed, tmp_path / "quickstart.html"))
    assert page.locator(".igw-image").count() >= 1
    heat = canvas_pixels(page, selector="canvas[data-map=attributions]")
    assert len(set(heat)) > 4, "the heatmap is blank"
    at_input = canvas_pixels(page, selector="canvas[data-map=cumulative]")
    page.locator(".igw-slider input[type=range]").first.press("Home")
    assert canvas_pixels(page, selector="canvas[data-map=cumulative]") != at_input, "the slider moved nothing"
    assert attempted == [], f"the page tried the network: {attempted}"


@pytest.mark.slow
def test_the_demo_page_switches_between_the_outputs_it_holds(browser, tmp_path, artifacts):
    """`python -m ig_widget.demo` on a headless machine writes the quickstart as a page whose explainers
    behave like an export_html page's: the listed outputs switch map and highlight together, and the
    settings that need a kernel are disabled under the static-page note."""
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    subprocess.run(
        [sys.executable, "-m", "ig_widget.demo", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=300,
        env=environment,
    )
    page, attempted = open_offline(browser, tmp_path / "01_quickstart.html")
    views = page.locator(".igw-image")
    assert views.count() == 2
    for index in range(2):
        view = views.nth(index)
        assert_static_controls(view)
        shown = pressed_matches_the_map(view)
        heat = canvas_pixels(page, index, "canvas[data-map=attributions]")
        other = view.locator(".igw-output[aria-pressed=false]").first
        assert other.is_enabled(), "the listed outputs were computed for the page"
        label = other.locator(".igw-output-label").text_content()
        other.click()
        assert pressed_matches_the_map(view) == label != shown
        assert canvas_pixels(page, index, "canvas[data-map=attributions]") != heat
    page.screenshot(path=artifacts / "demo_page_offline.png", full_page=True)
    assert attempted == [], f"the page tried the network: {attempted}"
