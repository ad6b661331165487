"""A change from the view that the kernel refuses is answered: the kernel's values go back to the view
(so the control snaps back) with a `refused` message saying why, and the trait keeps its value."""

from __future__ import annotations

import pytest

from ig_widget import ImageExplainer
from ig_widget.examples import DIGIT_LABELS
from ig_widget.schema import MAX_STEPS


@pytest.fixture
def explainer(digits):
    model, images, _ = digits
    widget = ImageExplainer(model, images[3], labels=DIGIT_LABELS, steps=16)
    widget.wait()
    return widget


def sent_messages(widget, monkeypatch) -> list[dict]:
    sent: list[dict] = []
    monkeypatch.setattr(widget, "_send", lambda msg, buffers=None: sent.append(msg))
    return sent


def test_limits_are_sent_with_the_traits(explainer):
    assert explainer.limits == {"steps": {"min": 1, "max": MAX_STEPS}, "clip": {"min": 50.0, "max": 100.0}}


def test_refused_clip_snaps_back(explainer, monkeypatch):
    sent = sent_messages(explainer, monkeypatch)
    explainer.set_state({"clip": 20.0})
    assert explainer.clip == 99.0
    assert {"clip": 99.0} in [msg["state"] for msg in sent if msg.get("method") == "update"]
    refusal = next(msg["content"] for msg in sent if msg.get("method") == "custom")
    assert refusal["names"] == ["clip"] and "clip=20.0" in refusal["message"] and "50..100" in refusal["message"]


@pytest.mark.parametrize("steps", [0, MAX_STEPS + 1, 5000])
def test_refused_steps_snap_back_with_the_reason(explainer, monkeypatch, steps):
    sent = sent_messages(explainer, monkeypatch)
    explainer.set_state({"steps": steps})  # what the view's number field sends
    assert explainer.steps == 16
    updates = [msg["state"] for msg in sent if msg.get("method") == "update"]
    assert {"steps": 16} in updates, "the kernel's value goes back to the view"
    refusals = [msg["content"] for msg in sent if msg.get("method") == "custom"]
    assert len(refusals) == 1 and refusals[0]["type"] == "refused" and refusals[0]["names"] == ["steps"]
    assert f"steps={steps}" in refusals[0]["message"] and f"1..{MAX_STEPS}" in refusals[0]["message"]


def test_refused_baseline_snaps_back(explainer, monkeypatch):
    sent = sent_messages(explainer, monkeypatch)
    explainer.set_state({"baseline": "purple"})
    assert explainer.baseline == "black"
    assert {"baseline": "black"} in [msg["state"] for msg in sent if msg.get("method") == "update"]
    assert any(msg.get("content", {}).get("names") == ["baseline"] for msg in sent)


def test_accepted_change_sends_no_refusal(explainer, monkeypatch):
    sent = sent_messages(explainer, monkeypatch)
    explainer.set_state({"steps": 8})
    explainer.wait()
    assert explainer.steps == 8
    assert not [msg for msg in sent if msg.get("method") == "custom"]
