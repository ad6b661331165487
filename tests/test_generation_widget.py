"""GenerationExplainer on the kernel side: rows appear selected-first, the payload holds what the view
prints exactly, alternatives explain contrasts, and a refused selection snaps back. The JS tests'
generation fixture is written here from a real payload:

    .venv/bin/python tests/test_generation_widget.py     # rewrites js/test/fixtures/generation.json
"""

from __future__ import annotations

import base64
import inspect
import json
import pathlib
import re
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("anywidget")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from fixture_compare import assert_fixture_current  # noqa: E402

import ig_widget as igw  # noqa: E402
from ig_widget.encode import decode_array  # noqa: E402
from ig_widget.generation_examples import byte_level_tokenizer, random_gpt2  # noqa: E402
from ig_widget.schema import REQUEST_KEYS  # noqa: E402
from ig_widget.widgets.generation import generation_payload  # noqa: E402

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "js" / "test" / "fixtures" / "generation.json"
PROMPT = "The <b>quick</b> fox"


def _model():
    tokenizer = byte_level_tokenizer()
    return random_gpt2(len(tokenizer), layers=1, hidden=16, heads=2, seed=2), tokenizer


@pytest.fixture(scope="module")
def gpt2():
    return _model()


def test_payload_keys_are_the_documented_ones(gpt2):
    model, tokenizer = gpt2
    widget = igw.GenerationExplainer(model, tokenizer, PROMPT, max_new_tokens=3, steps=4)
    widget.wait()
    documented = inspect.getdoc(generation_payload)
    assert widget.status == "done", widget.error
    for key in widget.result:
        assert key in documented, key
    assert widget.result["target_kinds"] == ["logit", "log_probability", "contrast"]
    assert widget._view == "generation" and widget.choices["baseline"][0] == "zero"


def test_rows_appear_selected_first_then_all_and_match_explain_generation(gpt2):
    model, tokenizer = gpt2
    seen = []

    class Recording(igw.GenerationExplainer):
        def _publish(self):
            super()._publish()
            seen.append(list(self.result["rows"]))

    widget = Recording(model, tokenizer, PROMPT, max_new_tokens=4, steps=6, selected=2)
    widget.wait()
    assert widget.status == "done", widget.error
    computed = [rows for rows in seen if rows]
    assert computed[0] == [2], seen
    assert computed[-1] == [0, 1, 2, 3]
    alone = igw.explain_generation(
        model,
        tokenizer,
        PROMPT,
        continuation=widget.generation.token_ids[widget.generation.prompt_length :],
        steps=6,
        baseline="zero",
    )
    torch.testing.assert_close(widget.explanation.matrix, alone.matrix, rtol=1e-5, atol=1e-6)
    # what the view prints is the kernel's float32, exactly
    np.testing.assert_array_equal(decode_array(widget.result["matrix"]), widget.explanation.matrix.numpy())
    assert widget.result["row_completeness"][1]["gap"] == float(widget.explanation.rows[1].gap)


def test_progress_follows_the_other_rows_and_a_cached_matrix_needs_no_walk(gpt2):
    """The widget runs on the explainers' RequestScheduler: the bar fills while the other rows compute
    (after the selected row is shown), and clicking between rows or back to earlier settings reads the
    cache."""
    model, tokenizer = gpt2
    seen = []

    class Recording(igw.GenerationExplainer):
        def _attribute(self, request, rows, progress):
            walks.append(list(rows))
            return super()._attribute(request, rows, progress)

    walks: list[list[int]] = []
    widget = Recording(model, tokenizer, PROMPT, max_new_tokens=4, steps=8, selected=1)
    widget.observe(lambda change: seen.append((change["new"], list(widget.result["rows"]))), names="progress")
    widget.wait()
    assert widget.status == "done" and walks == [[1], [0, 2, 3]]
    alone = [fraction for fraction, rows in seen if rows == []]
    after_first = [fraction for fraction, rows in seen if rows == [1]]
    assert alone and all(fraction <= 0.25 for fraction in alone), seen
    assert len(after_first) > 1 and all(0.25 < fraction <= 1.0 for fraction in after_first), seen
    assert after_first == sorted(after_first) and after_first[-1] == 1.0
    assert widget.result["rows"] == [0, 1, 2, 3] and not widget.result["computing"]
    widget.selected = 3
    widget.steps = 4
    widget.wait()
    widget.steps = 8
    widget.wait()
    assert walks[2:] == [[3], [0, 1, 2]]  # only the new settings were walked
    assert widget.status == "done" and widget.result["rows"] == [0, 1, 2, 3] and widget.result["steps"] == 8


def test_an_alternative_explains_the_contrast_and_another_row_drops_it(gpt2):
    model, tokenizer = gpt2
    widget = igw.GenerationExplainer(model, tokenizer, PROMPT, max_new_tokens=3, steps=4)
    widget.wait()
    other = widget.result["alternatives"][1][1]["index"]
    if other == widget.result["chosen_tokens"][1]:
        other = widget.result["alternatives"][1][0]["index"]
    widget.selected = 1
    widget.alternative = other
    widget.target_kind = "contrast"
    widget.wait()
    assert widget.status == "done", widget.error
    contrast = widget.explanation
    assert contrast.target == "contrast" and contrast.row_indices == [1] and contrast.contrasts == [other]
    reference = igw.explain_generation(
        model,
        tokenizer,
        PROMPT,
        continuation=widget.generation.token_ids[widget.generation.prompt_length :],
        steps=4,
        target="contrast",
        alternative=other,
    )
    torch.testing.assert_close(contrast.matrix[0], reference.matrix[1], rtol=1e-5, atol=1e-6)
    assert widget.result["contrast"]["row"] == 1 and widget.result["contrast"]["alternative"] == other
    widget.selected = 0
    assert widget.target_kind == "logit" and widget.alternative is None
    widget.wait()
    assert widget.result["contrast"] is None and widget.explanation.target == "logit"


def test_log_probability_rows_and_a_newer_request_replaces_an_older(gpt2):
    model, tokenizer = gpt2
    widget = igw.GenerationExplainer(model, tokenizer, PROMPT, max_new_tokens=3, steps=4)
    widget.steps = 64
    widget.steps = 8
    widget.target_kind = "log_probability"
    widget.wait()
    assert widget.result["steps"] == 8 and widget.result["matrix_kind"] == "log_probability"
    assert widget.explanation.target == "log_probability" and widget.explanation.rows[0].result.steps == 8


def test_a_refused_selection_snaps_back_with_why(gpt2):
    model, tokenizer = gpt2
    widget = igw.GenerationExplainer(model, tokenizer, PROMPT, max_new_tokens=3, steps=4)
    sent = []
    widget.send = lambda content, buffers=None: sent.append(content)
    widget.set_state({"selected": 7})
    assert widget.selected == 0
    assert sent and sent[0]["type"] == "refused" and "selected=7" in sent[0]["message"]
    with pytest.raises(Exception, match="baseline='blur'"):
        igw.GenerationExplainer(model, tokenizer, PROMPT, baseline="blur")
    widget.wait()


def test_markup_in_tokens_travels_as_text(gpt2):
    model, tokenizer = gpt2
    widget = igw.GenerationExplainer(model, tokenizer, PROMPT, max_new_tokens=2, steps=4)
    assert "".join(widget.result["tokens"][: widget.result["prompt_length"]]) == PROMPT
    widget.wait()


# ---------------------------------------------------------------- the JS fixture


def generation_fixture() -> dict:
    """Three real payloads (the logit matrix while only the selected row is computed, then complete; a
    contrast at row 1) and the kernel's numbers the view must print."""
    partial = []

    class Capturing(igw.GenerationExplainer):
        def _publish(self):
            super()._publish()
            if self.result["rows"] and not self.result["complete"] and not partial:
                partial.append(self.result)

    model, tokenizer = _model()
    widget = Capturing(model, tokenizer, PROMPT, max_new_tokens=3, steps=4, selected=1)
    widget.wait()
    widget.selected = 0
    plain = widget.result
    matrix = widget.explanation.matrix
    gaps = [float(row.gap) for row in widget.explanation.rows]
    alternative = next(alt["index"] for alt in plain["alternatives"][1] if alt["index"] != plain["chosen_tokens"][1])
    widget.selected = 1
    widget.alternative = alternative
    widget.target_kind = "contrast"
    widget.wait()
    contrast = widget.explanation
    return {
        "payload": _jsonable(plain),
        "partial_payload": _jsonable(partial[0]),
        "choices": widget.choices,  # the menus the view offers, as the widget sends them
        "contrast_payload": _jsonable(widget.result),
        "expected": {
            "matrix": matrix.tolist(),
            "contrast_row": contrast.matrix[0].tolist(),
            "contrast_alternative": alternative,
            "gaps": gaps,
        },
    }


def _jsonable(value):
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return value


def test_js_generation_fixture_is_current():
    fresh = json.loads(json.dumps(generation_fixture()))
    assert_fixture_current(json.loads(FIXTURE.read_text()), fresh, f".venv/bin/python {__file__}")


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(generation_fixture(), indent=1) + "\n")
    print(f"wrote {FIXTURE}")


def test_export_html_carries_every_row_and_the_alternatives(gpt2, tmp_path):
    """The page holds the whole payload (matrix, every row's trace, the alternatives), so selecting,
    hovering and walking the path work offline; only a new contrast needs the kernel."""
    from ig_widget.export import export_html

    model, tokenizer = gpt2
    widget = igw.GenerationExplainer(model, tokenizer, PROMPT, max_new_tokens=3, steps=4)
    widget.wait()
    page = export_html(widget, tmp_path / "generation.html").read_text()
    assert '"_view": "generation"' in page or '"_view":"generation"' in page
    assert widget.result["complete"] and len(widget.result["alternatives"]) == 3
    for key in ("matrix", "trace_cumulative", "trace_scores"):
        assert f'"{key}"' in page
    # which changes the page cannot answer (it refuses them): the schema's request keys for this view
    (answers,) = re.findall(r'<script type="application/vnd.ig-widget.precomputed\+json">(.*?)</script>', page)
    assert json.loads(answers)[widget.model_id] == {"keys": list(REQUEST_KEYS["generation"]), "entries": []}
