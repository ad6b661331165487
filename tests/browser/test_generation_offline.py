"""A GenerationExplainer exported with export_html, opened offline in Chromium: the page holds every row,
so clicking a generated token recolours its context; what it holds no result for (the page's request
keys come from schema.REQUEST_KEYS) is disabled, and a change that gets through anyway snaps back with
the reason instead of leaving the menu disagreeing with the matrix."""

from __future__ import annotations

import pytest
from offline_page import open_offline

import ig_widget as igw
from ig_widget.generation_examples import copy_prompt, copy_task_model

pytestmark = pytest.mark.browser

COLOURS = "spans => spans.map(s => s.style.backgroundColor)"


def test_generation_page_works_offline_and_refuses_what_it_cannot_answer(browser, tmp_path, artifacts):
    model, tokenizer = copy_task_model()
    widget = igw.GenerationExplainer(model, tokenizer, copy_prompt("cafdb"), max_new_tokens=5, steps=8)
    widget.wait()
    path = igw.export_html(widget, tmp_path / "generation.html")
    page, attempted = open_offline(browser, path)
    view = page.locator(".igw-gen")
    view.locator(".igw-badge").wait_for(state="visible")
    strip = view.locator("[data-strip=context] .igw-token")
    before = strip.evaluate_all(COLOURS)

    view.locator("[data-strip=context] .igw-token-generated").nth(2).click()  # the page holds every row
    page.wait_for_function(
        "before => [...document.querySelectorAll('.igw-gen [data-strip=context] .igw-token')]"
        ".some((span, i) => span.style.backgroundColor !== before[i])",
        arg=before,
    )

    kind = view.get_by_label("Rows explain")
    assert kind.input_value() == "logit"
    # the page holds the logit matrix only: the other row kind and every contrast are disabled, saying why
    assert kind.locator("option[value=log_probability]").is_disabled()
    others = view.locator(".igw-outputs .igw-output[aria-pressed=false]")
    assert others.count() >= 1 and all(others.nth(i).is_disabled() for i in range(others.count()))
    assert "running kernel" in (others.first.get_attribute("title") or "")
    # a change that reaches the page anyway is refused as a kernel refuses it: the menu snaps back
    kind.evaluate("select => { select.options[1].disabled = false; }")
    kind.select_option("log_probability")
    page.wait_for_function(  # the shim's refusal, shown beside the control
        "() => document.querySelector('.igw-gen').textContent.includes('static page: this needs a running kernel')"
    )
    assert kind.input_value() == "logit"
    page.screenshot(path=str(artifacts / "generation_offline.png"), full_page=True)
    assert attempted == [], f"the page tried the network: {attempted}"
