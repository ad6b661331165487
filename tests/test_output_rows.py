"""The outputs list's rows say what their scores are, so the view can show them where the
probabilities saturate (they print as 100% and 0%)."""

from __future__ import annotations

import pytest
import torch

from ig_widget.widgets.outputs import output_rows


def test_probability_rows_name_their_score():
    logits = torch.tensor([30.0, 2.0, -1.0])
    rows = output_rows(logits, torch.softmax(logits, 0), "probability", 2, None, str)
    assert [row["score_name"] for row in rows] == ["logit", "logit"]
    assert rows[0]["probability"] > 0.99999  # saturated: the view needs the logits to tell them apart
    log_probabilities = logits.log_softmax(0)
    rows = output_rows(
        log_probabilities, log_probabilities.exp(), "probability", 2, None, str, score_name="log-probability"
    )
    assert [row["score_name"] for row in rows] == ["log-probability", "log-probability"]
    assert [row["score"] for row in rows] == pytest.approx(log_probabilities[:2].tolist())


def test_raw_score_rows_have_no_probability_and_no_score_name():
    rows = output_rows(torch.tensor([0.5]), torch.tensor([1.0]), "score", 1, None, str)
    assert set(rows[0]) == {"index", "label", "score", "kind"}


def test_an_unknown_score_name_is_refused():
    with pytest.raises(ValueError, match=r"score_name='probit'.*logit, log-probability"):
        output_rows(torch.tensor([1.0]), torch.tensor([1.0]), "probability", 1, None, str, score_name="probit")


@pytest.mark.parametrize(
    ("probabilities", "shown"),
    [
        ([0.691, 0.301, 0.0061, 0.0018, 0.0001], ["69.1%", "30.1%", "0.6%", "0.2%", "0.0%"]),  # told apart
        ([0.691, 0.305, 0.0041, 0.0002, 0.0001], None),  # two print 0.0%: the logits
        ([0.99999, 0.00001], None),  # 100.0%: the logits
    ],
)
def test_the_picture_for_front_ends_without_widgets_prints_what_the_view_prints(probabilities, shown):
    from ig_widget.widgets.static_picture import _values

    logits = torch.tensor(probabilities).log()
    rows = output_rows(logits, torch.tensor(probabilities), "probability", len(probabilities), None, str)
    heading, values = _values(rows)
    if shown is None:
        assert heading == "outputs (logits)" and values == [f"{float(v):.3g}" for v in logits]
    else:
        assert heading == "outputs" and values == shown
