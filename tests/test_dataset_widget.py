"""DatasetExplorer over a store of 10,000 examples: pages loaded as shown (one page's payload and time
measured), order and filters synced with Python, a click opens the example (stored or live), the
per-class summary, export of a page. `python tests/test_dataset_widget.py` rewrites the JS fixture
js/test/fixtures/dataset.json from a real store."""

from __future__ import annotations

import base64
import copy
import json
import pathlib
import time

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("zarr")

from fixture_compare import assert_fixture_current  # noqa: E402

import ig_widget as igw  # noqa: E402
from ig_widget.encode import decode_array  # noqa: E402
from ig_widget.examples import digits_data  # noqa: E402

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "js" / "test" / "fixtures" / "dataset.json"
COUNT = 10_000


def tiny_digits_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).eval()


def digits_store(out: pathlib.Path, count: int = COUNT):
    images, labels = digits_data()
    repeats = -(-count // len(images))
    x, y = images.repeat(repeats, 1, 1, 1)[:count], labels.repeat(repeats)[:count]
    model = tiny_digits_model()
    return model, igw.attribute_dataset(model, (x, y), out=out, steps=4, unit=500, progress=False)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    return digits_store(tmp_path_factory.mktemp("gallery") / "digits")


def payload_bytes(payload: dict) -> int:
    """Bytes a page sends: its binary buffers plus the JSON of the rest."""
    buffers = sum(len(value["data"]) for value in payload.values() if isinstance(value, dict) and "data" in value)
    rest = {key: value for key, value in payload.items() if not (isinstance(value, dict) and "data" in value)}
    return buffers + len(json.dumps(rest))


def test_one_page_is_sent_not_the_store(big, record_property):
    _, store = big
    start = time.perf_counter()
    widget = igw.DatasetExplorer(store)
    opened = time.perf_counter() - start
    start = time.perf_counter()
    widget.page = 7
    paged = time.perf_counter() - start
    page = widget.page_data
    size = payload_bytes(page)
    record_property("page_bytes", size)
    record_property("page_seconds", round(paged, 4))
    print(
        f"\n{len(store)} examples: gallery opens in {opened:.3f} s; one page of {widget.page_size}: "
        f"{size} bytes, {1000 * paged:.1f} ms"
    )
    assert len(page["rows"]) == widget.page_size == 24
    assert page["images"]["shape"] == [24, 8, 8] and page["maps"]["shape"] == [24, 8, 8]
    assert size < 16_000  # 24 thumbnails of 8x8 (uint8 image, int8 map) and their printed numbers
    assert paged < 1.0
    assert page["indices"] == list(range(7 * 24, 8 * 24))
    state_bytes = sum(
        payload_bytes(value) if isinstance(value, dict) else 0
        for value in (widget.page_data, widget.summary, widget.meta)
    )
    assert state_bytes < 60_000  # no trait holds the store


def test_order_and_filters_are_synced_with_python(big):
    _, store = big
    widget = igw.DatasetExplorer(store)
    table = store.table
    widget.sort, widget.descending = "gap", True
    expected = _by_gap(table, "gap", descending=True)
    np.testing.assert_array_equal(widget.selection, expected)
    assert widget.page_data["indices"] == list(expected[:24])
    widget.correct, widget.label_filter = "wrong", 3
    kept = table[(table["label"] == 3) & ~table["correct"]]
    assert set(widget.selection) == set(kept["index"]) and len(widget.selection) == len(kept) > 0
    assert widget.page_data["matches"] == len(kept)
    widget.page = 10_000  # past the end: the last page
    assert widget.page == widget.pages - 1
    widget.min_confidence = 0.99
    assert all(table["confidence"].iloc[i] >= 0.99 for i in widget.selection)
    widget.correct, widget.label_filter, widget.min_confidence = "all", -1, 0.0
    widget.min_concentration = 0.45
    assert len(widget.selection) == int((table["concentration"] >= 0.45).sum()) > 0
    widget.min_concentration, widget.min_relative_gap = 0.0, 1e-6
    real = (table["relative_gap"].abs() >= 1e-6) & ~table["gap_within_rounding"]
    assert len(widget.selection) == int(real.sum()) > 0
    assert int((table["relative_gap"].abs() >= 1e-6).sum()) > len(widget.selection)  # rounding rows left out


def _reads_as_rounding(table) -> np.ndarray:
    return (table["gap_within_rounding"] & (table["relative_gap"].abs() >= 0.01)).to_numpy()


def _by_gap(table, column: str, descending: bool) -> np.ndarray:
    """The expected order by |column|: gaps that read as float rounding after the others when descending."""
    ranked = table.assign(magnitude=table[column].abs(), rounding=_reads_as_rounding(table))
    ranked = ranked.sort_values(["rounding", "magnitude"], ascending=[descending, not descending], kind="stable")
    return ranked["index"].to_numpy()


@pytest.fixture(scope="module")
def rounding_rows(tmp_path_factory):
    """300 digits whose scores for classes 0 - 4 sit near 1e5, where float32 rounds to 0.008: their gaps
    are within rounding, and many are over 1% of a score change that small; the other classes' gaps are
    real (a tanh layer at 4 steps)."""
    images, labels = digits_data()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10)).eval()
    with torch.no_grad():
        model[1].weight.mul_(3.0)
        model[3].bias[:5] = 1e5
    out = tmp_path_factory.mktemp("rounding") / "digits"
    return igw.attribute_dataset(model, (images[:300], labels[:300]), out=out, steps=4, unit=100, progress=False)


@pytest.mark.parametrize("sort", ["relative_gap", "gap"])
@pytest.mark.parametrize("descending", [True, False])
def test_gaps_within_rounding_never_head_a_sort_for_the_largest_gaps(rounding_rows, sort, descending):
    """The defect: sorting by |relative gap| put first the rows whose gap is float rounding of a score that
    hardly changes (a relative gap of 100% and more from a gap the rounding of F(x) alone could make), ahead
    of every row with a real gap, and their cells said nothing of it. Now they come after every real gap
    (before them, ascending), in their own order, their cells saying "(rounding)"; a filter on the
    relative gap drops every gap within rounding."""
    table = rounding_rows.table
    rounding = _reads_as_rounding(table)
    real = int((~rounding).sum())
    assert rounding.sum() >= 20 and (~table["gap_within_rounding"]).sum() >= 20
    loudest = int(table["relative_gap"].abs().idxmax())
    assert rounding[loudest]  # the top of the old descending order
    widget = igw.DatasetExplorer(rounding_rows)
    widget.sort, widget.descending = sort, descending
    np.testing.assert_array_equal(widget.selection, _by_gap(table, sort, descending))
    grouped = rounding[widget.selection]
    if descending:  # every real gap first, then the rounding ones
        assert not grouped[:real].any() and grouped[real:].all()
    else:
        assert grouped[: len(grouped) - real].all() and not grouped[len(grouped) - real :].any()
    for page in range(widget.pages):
        widget.page = page
        for row in widget.page_data["rows"]:
            assert row["text"]["gap"].endswith(" (rounding)") is bool(rounding[row["index"]])
    widget.min_relative_gap = 0.01
    assert not table["gap_within_rounding"].to_numpy()[widget.selection].any()
    assert len(widget.selection) == int(((table["relative_gap"].abs() >= 0.01) & ~table["gap_within_rounding"]).sum())


def test_printed_numbers_are_pythons(big):
    _, store = big
    widget = igw.DatasetExplorer(store, page_size=12)
    table = store.table
    for row in widget.page_data["rows"]:
        line = table.iloc[row["index"]]
        rounding = line["gap_within_rounding"] and abs(line["relative_gap"]) >= 0.01
        assert row["text"]["gap"] == f"{line['gap']:.4g}" + (" (rounding)" if rounding else "")
        assert row["text"]["confidence"] == f"{100 * line['confidence']:.1f}%"
    widget.opened = 42
    shown = dict(widget.detail["rows"])
    assert shown["F(x)"] == f"{table['score'].iloc[42]:.4g}" and shown["gap"] == f"{table['gap'].iloc[42]:.4g}"
    np.testing.assert_array_equal(decode_array(widget.detail["map"]), store[42].attributions[0].sum(0).numpy())


def test_a_click_opens_a_live_explainer_when_the_model_is_given(big):
    model, store = big
    widget = igw.DatasetExplorer(store, model=model)
    assert widget.explainer is None
    explainer = widget.open_example(11)
    assert isinstance(explainer, igw.ImageExplainer) and widget.detail["index"] == 11
    explainer.wait()
    stored = store[11]
    assert explainer.target == int(store.table["label"].iloc[11])
    live = explainer.explanation.attributions
    torch.testing.assert_close(live, stored.attributions, atol=2e-3 * float(live.abs().max()), rtol=0)


@pytest.mark.parametrize(
    ("settings", "live"), [({"baseline": "blur"}, {"baseline": "blur"}), ({"idgi": True}, {"idgi": True})]
)
def test_the_live_view_starts_where_the_stored_map_was_made(digits, tmp_path, settings, live):
    """Another baseline or IDGI in the store: the live map beside the stored one is the same map (it was
    the default black baseline, plain IG, before: a map 128 % of the stored one's largest value away)."""
    model, images, labels = digits
    store = igw.attribute_dataset(
        model, (images[:8], labels[:8]), out=tmp_path / "s", steps=16, progress=False, **settings
    )
    explainer = igw.DatasetExplorer(store, model=model).open_example(3)
    explainer.wait()
    assert {key: getattr(explainer, key) for key in live} == live
    stored, shown = store[3].attributions, explainer.explanation.attributions
    torch.testing.assert_close(shown, stored, atol=2e-3 * float(stored.abs().max()), rtol=0)


def test_the_live_view_of_a_misclassified_example_explains_the_stored_target(tmp_path):
    """A store of target='prediction': for an example the model gets wrong, the live view explains the
    prediction the stored map explains (it explained the label before: a map 105 % away)."""
    from ig_widget.examples import train_digits_cnn

    model, images, labels = train_digits_cnn(size=8, epochs=1, seed=0)  # undertrained: it errs
    store = igw.attribute_dataset(
        model, (images[:64], labels[:64]), out=tmp_path / "p", steps=16, target="prediction", progress=False
    )
    table = store.table
    wrong = int(table.index[table["label"] != table["prediction"]][0])
    explainer = igw.DatasetExplorer(store, model=model).open_example(wrong)
    explainer.wait()
    assert explainer.target == int(table["prediction"].iloc[wrong]) != int(table["label"].iloc[wrong])
    stored, shown = store[wrong].attributions, explainer.explanation.attributions
    torch.testing.assert_close(shown, stored, atol=2e-3 * float(stored.abs().max()), rtol=0)


def test_a_live_view_of_another_model_or_an_unoffered_baseline_is_refused(digits, tmp_path):
    model, images, labels = digits
    store = igw.attribute_dataset(model, (images[:8], labels[:8]), out=tmp_path / "s", steps=4, progress=False)
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.classifier.weight.mul_(1.5)
    with pytest.raises(igw.AttributionInputError, match="not the model this store was made with"):
        igw.DatasetExplorer(store, model=other)
    igw.DatasetExplorer(store, model=copy.deepcopy(model))  # the same weights: the same model
    grey = igw.attribute_dataset(
        model, (images[:8], labels[:8]), out=tmp_path / "g", steps=4, baseline=0.5, progress=False
    )
    with pytest.raises(igw.AttributionInputError, match="baseline.*not one the live view offers"):
        igw.DatasetExplorer(grey, model=model)
    assert igw.DatasetExplorer(grey).open_example(2) is None  # browsing the stored results needs no model


def test_a_model_trained_after_the_gallery_was_made_gets_no_live_view(digits, tmp_path):
    model, images, labels = digits
    store = igw.attribute_dataset(model, (images[:8], labels[:8]), out=tmp_path / "s", steps=4, progress=False)
    mine = copy.deepcopy(model)
    gallery = igw.DatasetExplorer(store, model=mine)
    assert gallery.open_example(1) is not None
    with torch.no_grad():
        mine.classifier.weight.mul_(1.5)  # trained on in a later cell
    with pytest.raises(igw.AttributionInputError, match="not the model this store was made with"):
        gallery.open_example(2)
    assert gallery.explainer is None  # no live map of the new weights beside the stored ones
    mine.load_state_dict(model.state_dict())  # back to the store's weights: its live view again
    assert gallery.open_example(2) is not None


def test_per_class_summary(big):
    _, store = big
    widget = igw.DatasetExplorer(store)
    summary = store.summary()
    classes = widget.summary["classes"]
    assert [c["count"] for c in classes] == list(summary["count"]) and sum(c["count"] for c in classes) == COUNT
    assert [c["errors"] for c in classes] == list(summary["errors"])
    means = decode_array(widget.summary["class_mean"])
    step = np.asarray(widget.summary["class_mean"]["scale"]).reshape(-1, 1, 1)
    assert (np.abs(means - summary["class_mean"].sum(axis=1)) <= step / 2 + 1e-6).all()


def test_export_html_writes_the_shown_page(big, tmp_path):
    _, store = big
    widget = igw.DatasetExplorer(store)
    widget.sort, widget.correct = "confidence", "wrong"
    page = igw.export_html(widget, tmp_path / "page.html", title="misclassified digits")
    text = page.read_text()
    assert '"_view": "dataset"' in text or "dataset" in text
    assert "http://" not in text.split("<script")[0] and 'src="http' not in text  # offline: nothing fetched
    assert len(text) < 400_000


def test_a_store_without_baseline_prints_not_defined_for_its_gap(tmp_path):
    images, labels = digits_data()
    model = tiny_digits_model()
    store = igw.attribute_dataset(
        model, (images[:30], labels[:30]), out=tmp_path / "s", method="saliency", unit=10, progress=False
    )
    widget = igw.DatasetExplorer(store, page_size=12)
    assert widget.meta["settings"] == "saliency"
    assert {row["text"]["gap"] for row in widget.page_data["rows"]} == {"n/a"}
    widget.opened = 4
    rows = dict(widget.detail["rows"])
    assert rows["F(x')"] == rows["gap"] == rows["relative gap"] == "n/a"
    assert rows["F(x)"] == f"{store.table['score'][4]:.4g}"
    live = igw.DatasetExplorer(store, model=model).open_example(4)  # the live view: IG at its defaults
    live.wait()
    assert live.steps == 32 and live.error == ""


def dataset_fixture(tmp: pathlib.Path) -> dict:
    _, store = digits_store(tmp / "fixture", count=40)
    widget = igw.DatasetExplorer(store, page_size=12)
    widget.opened = 3

    def plain(value):
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        if isinstance(value, bytes):
            return {"base64": base64.b64encode(value).decode()}
        return value

    state = {
        name: getattr(widget, name)
        for name in (
            "meta",
            "page_data",
            "detail",
            "summary",
            "sort",
            "descending",
            "label_filter",
            "correct",
            "min_confidence",
            "min_relative_gap",
            "min_concentration",
            "page",
            "page_size",
            "opened",
        )
    }
    return plain(state)


def test_js_fixture_is_current(tmp_path):
    fresh = json.loads(json.dumps(dataset_fixture(tmp_path)))
    assert_fixture_current(json.loads(FIXTURE.read_text()), fresh, f"python {__file__}")


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        FIXTURE.write_text(json.dumps(dataset_fixture(pathlib.Path(directory)), indent=1) + "\n")
    print(f"wrote {FIXTURE}")
