"""The gallery exported with export_html, opened offline in Chromium: the saved page of examples, the
opened example and the per-class summary show; sorting, filtering, paging and opening another example
are disabled under the "needs a kernel" note instead of doing nothing silently."""

from __future__ import annotations

import pytest
import torch
from offline_page import open_offline
from torch import nn

import ig_widget as igw
from ig_widget.examples import digits_data

pytest.importorskip("zarr")

pytestmark = pytest.mark.browser


@pytest.fixture
def gallery(tmp_path):
    images, labels = digits_data()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).eval()
    store = igw.attribute_dataset(model, (images[:200], labels[:200]), out=tmp_path / "run", steps=4, progress=False)
    widget = igw.DatasetExplorer(store, page_size=12)
    widget.sort, widget.descending = "confidence", True
    widget.opened = int(widget.page_indices[2])
    return widget


def test_an_exported_gallery_says_what_needs_a_kernel_and_keeps_the_rest(browser, gallery, tmp_path, artifacts):
    page, attempted = open_offline(browser, igw.export_html(gallery, tmp_path / "gallery.html", title="digits"))
    assert attempted == []
    view = page.locator(".igw-ds")
    view.locator(".igw-ds-card").first.wait_for()
    note = view.locator(".igw-static-note")
    assert note.is_visible() and note.inner_text() == gallery.meta["static_note"]
    # the saved page, in the saved order, with the kernel's text
    shown = view.locator(".igw-ds-card").evaluate_all("cards => cards.map(c => Number(c.dataset.index))")
    assert shown == gallery.page_indices.tolist()
    first = gallery.page_data["rows"][0]
    assert f"gap {first['text']['gap']}" in view.locator(".igw-ds-card").first.inner_text()
    # what needs the kernel: disabled, with the note as its title
    controls = view.locator(".igw-ds-controls select, .igw-ds-controls input")
    assert controls.count() == 8
    for i in range(controls.count()):
        assert controls.nth(i).is_disabled()
        assert controls.nth(i).get_attribute("title") == gallery.meta["static_note"]
    assert gallery.pages > 1 and view.locator(".igw-ds-next").is_disabled()
    assert view.locator(".igw-ds-card").first.get_attribute("aria-disabled") == "true"
    # the saved example is there; a click on another card changes nothing
    assert view.locator(".igw-ds-detail-title").inner_text().startswith(f"Example #{gallery.opened}")
    view.locator(".igw-ds-card").nth(5).dispatch_event("click")  # aria-disabled: Playwright would not click
    assert view.locator(".igw-ds-detail-title").inner_text().startswith(f"Example #{gallery.opened}")
    # the summary opens, drawn from the page
    view.locator(".igw-ds-summary > summary").click()
    assert view.locator(".igw-ds-summary-label").count() == len(gallery.summary["classes"])
    view.screenshot(path=artifacts / "dataset_export_offline.png")
    # closing the example is the view's own
    view.locator(".igw-ds-close").click()
    assert view.locator(".igw-ds-detail-title").count() == 0
    page.close()
