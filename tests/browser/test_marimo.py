"""notebooks/01_quickstart_marimo.py served by `marimo run` (headless, local port) and driven in chromium:
the explainer wrapped by `mo.ui.anywidget` renders, its alpha slider moves by mouse and by keyboard,
and clicking another class changes both the Python explainer's `target` and marimo's reactive value
(the cell reading `view.value["target"]` runs again and prints both)."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GAP = re.compile(r"gap [−+-]?\d+\.\d+%")


def reactive_line(page):
    return page.get_by_text(re.compile(r"^The view explains class"))


def test_quickstart_in_marimo(marimo_quickstart, page, artifacts):
    page.goto(marimo_quickstart.url)
    view = page.locator(".igw-image")
    badge = view.locator(".igw-badge")
    badge.wait_for(state="visible", timeout=180_000)
    page.wait_for_function("() => true")  # let the view settle one frame
    assert GAP.search(badge.inner_text()), badge.inner_text()
    line = reactive_line(page)
    line.wait_for(state="visible", timeout=60_000)
    first = int(re.search(r"view\.value\['target'\]\s*=\s*(\d+)", line.inner_text()).group(1))
    assert f"target = {first};" in line.inner_text().replace("`", "")
    assert view.locator(".igw-output[aria-pressed=true]").get_attribute("data-index") == str(first)
    page.screenshot(path=str(artifacts / "marimo_page.png"), full_page=True)
    view.screenshot(path=str(artifacts / "marimo_image.png"))
    width = view.evaluate("el => el.getBoundingClientRect().width")
    assert width <= page.viewport_size["width"], "the view overflows marimo's page"

    slider = view.get_by_label(re.compile("^alpha"))
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    assert slider.evaluate("input => Number(input.value)") < 0.1
    slider.focus()
    page.keyboard.press("End")
    end = slider.evaluate("input => Number(input.value)")
    assert end > 0.9
    page.keyboard.press("ArrowLeft")
    assert slider.evaluate("input => Number(input.value)") < end

    other = view.locator(".igw-output[aria-pressed=false]").first
    chosen = int(other.get_attribute("data-index"))
    other.click()
    page.wait_for_function("() => true")
    reactive_line(page).filter(has_text=re.compile(rf"view\.value\['target'\]\s*=\s*{chosen}\b")).wait_for(
        state="visible", timeout=60_000
    )
    text = reactive_line(page).inner_text().replace("`", "")
    assert f"target = {chosen};" in text, text  # the Python explainer's trait, read in the re-run cell
    view.locator(f".igw-output[data-index='{chosen}'][aria-pressed=true]").wait_for(timeout=30_000)
    view.screenshot(path=str(artifacts / "marimo_image_retargeted.png"))
