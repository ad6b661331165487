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


@pytest.mark.parametrize("top_k", [-3, 0, 2.5])
def test_the_rows_refuse_a_top_k_that_is_not_a_positive_int(top_k):
    """Every explainer lists its rows here: a negative top_k sliced from the end, a float failed in torch."""
    with pytest.raises(ValueError, match=rf"top_k must be a positive int .*got {top_k!r}"):
        output_rows(torch.arange(10.0), torch.arange(10.0).softmax(0), "probability", top_k, None, str)


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


def test_scores_say_whether_they_are_logits_log_probabilities_or_probabilities():
    from ig_widget.attribution.class_scores import class_probabilities, score_name

    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]])
    probabilities = logits.softmax(1)
    assert score_name(logits, 1) == "logit"
    assert score_name(logits.log_softmax(1), 1) == "log-probability"
    assert score_name(probabilities, 1) == "probability"
    torch.testing.assert_close(class_probabilities(logits, 1), probabilities)
    torch.testing.assert_close(class_probabilities(logits.log_softmax(1), 1), probabilities)
    torch.testing.assert_close(class_probabilities(probabilities, 1), probabilities)  # not a second softmax
    assert score_name(torch.tensor([0.7]), 0) == "logit"  # one output: nothing to tell
    assert score_name(torch.tensor([0.2, 0.3, 0.4]), 0) == "logit"  # in [0, 1] but not summing to 1


def _softmax_classifier():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4), torch.nn.Softmax(dim=1)).eval()
    with torch.no_grad():
        model[1].weight.mul_(5)
    return model, torch.rand(3, 8, 8)


def test_a_model_ending_in_softmax_is_listed_with_its_own_probabilities():
    """The defect: the list took the model's probabilities for logits and softmaxed them again (a class
    the model gave 40.7% printed 29.1%, and its score was called a logit)."""
    import ig_widget as igw

    model, image = _softmax_classifier()
    with torch.no_grad():
        given = model(image[None])[0]
    view = igw.ImageExplainer(model, image, steps=4, preview=None)
    view.wait()
    for row in view.outputs:
        assert row["probability"] == pytest.approx(float(given[row["index"]]), abs=1e-7)
        assert row["score_name"] == "probability"
    assert view.outputs[0]["index"] == int(given.argmax())


def test_output_probability_on_probabilities_is_refused():
    import ig_widget as igw
    from ig_widget.attribution.errors import AttributionInputError

    model, image = _softmax_classifier()
    with pytest.raises(AttributionInputError, match=r"output='probability'.*already are probabilities.*output='logit'"):
        igw.ImageExplainer(model, image, output="probability", steps=4, preview=None)


@pytest.mark.parametrize("method", ["integrated_gradients", "saliency", "guided_integrated_gradients"])
@pytest.mark.parametrize("output", ["probability", "log_probability"])
def test_the_kernel_refuses_a_softmax_over_probabilities_before_any_path(method, output):
    """The kernel took the same probabilities for logits: integrated_gradients(output="probability") on a
    model ending in a softmax explained the softmax of its probabilities (flattened toward uniform), where
    the views already refused. Now every entry point refuses on its first pass, the one that shows the scores, before the walk goes on."""
    import ig_widget as igw
    from ig_widget.attribution.errors import AttributionInputError

    model, image = _softmax_classifier()
    rows = []

    def counted(points):
        rows.append(len(points))
        return model(points)

    with pytest.raises(AttributionInputError, match=rf"output='{output}'.*already are probabilities"):
        getattr(igw, method)(counted, image[None], target=1, output=output)
    # refused on the first pass, which shows the model's scores (IG's first chunk, where x and x' ride)
    assert len(rows) == 1


def test_the_kernel_explains_a_softmax_models_own_probabilities_as_logit_and_takes_log_softmax_models():
    """What the refusal points to: output="logit" explains the model's own probability (F(x) is it); a
    model ending in log_softmax still takes output="probability" (its softmax is the probability)."""
    import ig_widget as igw

    model, image = _softmax_classifier()
    with torch.no_grad():
        given = model(image[None])[0, 1]
    result = igw.integrated_gradients(model, image[None], target=1, output="logit", steps=16)
    assert float(result.score[0]) == pytest.approx(float(given), abs=1e-7)
    log_model = torch.nn.Sequential(*list(model)[:-1], torch.nn.LogSoftmax(dim=1))
    result = igw.integrated_gradients(log_model, image[None], target=1, output="probability", steps=16)
    assert float(result.score[0]) == pytest.approx(float(given), abs=1e-6)


def test_the_picture_names_probabilities_and_log_probabilities_in_the_plural():
    from ig_widget.widgets.static_picture import _values

    saturated = torch.tensor([0.99999, 0.00001])
    rows = output_rows(saturated, saturated, "probability", 2, None, str, score_name="probability")
    assert _values(rows)[0] == "outputs (probabilities)"
    rows = output_rows(saturated.log(), saturated, "probability", 2, None, str, score_name="log-probability")
    assert _values(rows)[0] == "outputs (log-probabilities)"  # was "log-probabilitys"


def test_deletion_curves_of_a_softmax_model_follow_its_own_probabilities():
    """deletion_insertion's default output="probability" took a softmax model's probabilities for logits
    and followed the softmax of them: a curve squashed toward 1 / classes. Now it follows the model's own,
    the same as output="logit" on that model, and "log_probability" their logarithm."""
    import ig_widget as igw

    model, image = _softmax_classifier()
    x = image[None]
    attributions = igw.integrated_gradients(model, x, target=3, steps=8).attributions
    probability = igw.deletion_insertion(model, x, attributions, target=3, steps=8)
    logit = igw.deletion_insertion(model, x, attributions, target=3, steps=8, output="logit")
    torch.testing.assert_close(probability.deletion, logit.deletion)
    torch.testing.assert_close(probability.insertion, logit.insertion)
    with torch.no_grad():
        assert float(probability.deletion[0, 0]) == pytest.approx(float(model(x)[0, 3]), rel=1e-6)
    logs = igw.deletion_insertion(model, x, attributions, target=3, steps=8, output="log_probability")
    torch.testing.assert_close(logs.deletion, logit.deletion.log())


def test_the_picture_lists_the_explained_class_when_it_is_outside_the_top_rows():
    """The view lists the target after the top k when it is not among them; the picture kept only its first
    five rows, so a picture of the least likely class never said which class it explained."""
    import matplotlib.figure

    import ig_widget as igw
    from ig_widget.widgets.static_picture import SHOWN_OUTPUTS, _outputs

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 10)).eval()
    image = torch.rand(3, 4, 4)
    with torch.no_grad():
        last = int(model(image[None])[0].argmin())
    labels = [f"L{i}" for i in range(10)]
    widget = igw.ImageExplainer(model, image, labels=labels, target=last, steps=4, preview=None)
    widget.wait()
    assert [row["index"] for row in widget.outputs[:SHOWN_OUTPUTS]].count(last) == 0  # outside the top rows
    ax = matplotlib.figure.Figure().subplots()
    _outputs(ax, widget)
    lines = [text.get_text() for text in ax.texts]
    marked = [line for line in lines if line.startswith("▶")]
    assert len(marked) == 1 and marked[0].split()[1] == labels[last]
    assert len(lines) == 1 + SHOWN_OUTPUTS + 1  # the heading, the top rows, the explained class
