"""RequestScheduler without anywidget: a fake computation that records what it was asked, real threads.

The fake's progress calls are where a computation can be stopped, as the engine's are; each one waits
on a gate the test opens, so the test decides what happens while a computation is in flight.
"""

from __future__ import annotations

import pathlib
import threading
import time
from typing import NamedTuple

import pytest

from ig_widget.widgets.scheduler import RequestScheduler, Superseded

TIMEOUT = 10.0


def wait_for(condition, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


class Ask(NamedTuple):
    target: int
    steps: int

    def settings(self) -> int:
        return self.steps


class Fake:
    """compute / compute_many that record each call and the requests in it, and pass through `gate`
    at every progress call (CHUNKS per computation)."""

    CHUNKS = 3

    def __init__(
        self, listed=(0, 1, 2), fail_on: int | None = None, shows_listed: bool = False, preview: str | None = None
    ):
        """preview: None (no preview hook), "coarse" (a 1-step stand-in), "none" (the hook declines: a
        fast model), "fails" (the stand-in raises)."""
        self.calls: list[tuple[str, list[Ask]]] = []
        self.finished: list[list[Ask]] = []
        self.stopped: list[list[Ask]] = []
        self.gate = threading.Event()  # every computation passes it at each progress call
        self.gate.set()
        self.walk_gate = threading.Event()  # the listed walk ("many") also passes this one
        self.walk_gate.set()
        self.started = threading.Event()
        self.listed_targets = list(listed)
        self.fail_on = fail_on
        self.shown: list[dict] = []
        self.errors: list[BaseException] = []
        self.progress: list[float] = []
        self.computing = 0
        self.previewed: list[tuple[Ask, dict]] = []
        self.events: list[str] = []  # "preview", "show", in the order the view got them
        self.preview_gate = threading.Event()  # the preview passes it at each progress call
        self.preview_gate.set()
        self.preview_kind = preview
        hooks = {} if preview is None else {"preview": self.preview, "show_preview": self.show_preview}
        self.scheduler = RequestScheduler(
            compute=lambda request, progress: self.compute_many([request], progress, "one")[0],
            compute_many=lambda requests, progress: self.compute_many(requests, progress, "many"),
            listed=lambda request: [Ask(t, request.steps) for t in self.listed_targets],
            show=self.show,
            show_error=self.errors.append,
            show_progress=self.progress.append,
            show_computing=self._computing,
            capacity=lambda: 8,
            shows_listed=shows_listed,
            **hooks,
        )

    def show(self, payload):
        self.events.append("show")
        self.shown.append(payload)

    def show_preview(self, request, computed):
        self.events.append("preview")
        self.previewed.append((request, computed[1]))

    def preview(self, request, progress):
        if self.preview_kind == "none":
            return None
        self.calls.append(("preview", [request]))
        try:
            for chunk in range(self.CHUNKS):
                assert self.preview_gate.wait(TIMEOUT), "the test never opened the preview's gate"
                progress(chunk + 1, self.CHUNKS)
        except Superseded:
            self.stopped.append(["preview", request])
            raise
        if self.preview_kind == "fails":
            raise FloatingPointError("the preview gave NaN")
        return f"preview {request}", {"target": request.target, "steps": 1, "preview_of": request.steps}

    def _computing(self):
        self.computing += 1

    def compute_many(self, requests, progress, how):
        self.calls.append((how, list(requests)))
        self.started.set()
        try:
            for chunk in range(self.CHUNKS):
                assert self.gate.wait(TIMEOUT), "the test never opened the gate"
                if how == "many":
                    assert self.walk_gate.wait(TIMEOUT), "the test never opened the walk's gate"
                progress(chunk + 1, self.CHUNKS)
                if self.fail_on is not None and any(r.target == self.fail_on for r in requests):
                    raise FloatingPointError(f"model gave NaN for {self.fail_on}")
        except Superseded:
            self.stopped.append(list(requests))
            raise
        self.finished.append(list(requests))
        return [(f"result {r}", {"target": r.target, "steps": r.steps}) for r in requests]


def test_the_wanted_request_is_shown_first_then_the_listed_ones_come_in_one_walk():
    fake = Fake()
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    assert fake.calls == [("one", [Ask(1, 4)]), ("many", [Ask(0, 4), Ask(2, 4)])]
    assert fake.shown == [{"target": 1, "steps": 4}] and fake.computing == 1
    assert fake.progress[-1] == 1.0 and all(0 < p <= 1 for p in fake.progress)
    assert set(fake.scheduler.payloads()) == {Ask(0, 4), Ask(1, 4), Ask(2, 4)}


def test_a_cache_hit_needs_no_computation():
    fake = Fake()
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    calls = len(fake.calls)
    for target in (0, 2, 1):
        fake.scheduler.request(Ask(target, 4))
        fake.scheduler.wait(TIMEOUT)
    assert len(fake.calls) == calls  # every listed output came from the one walk
    assert [payload["target"] for payload in fake.shown] == [1, 0, 2, 1]
    assert fake.computing == 1  # never "computing" for a cached result
    assert fake.scheduler.cached(Ask(2, 4))[0] == f"result {Ask(2, 4)}"


def test_the_newest_request_wins_and_superseded_work_stops_at_its_next_progress_call():
    fake = Fake()
    fake.gate.clear()
    fake.scheduler.request(Ask(1, 4))
    assert fake.started.wait(TIMEOUT)  # the first computation is in flight, held at its first chunk
    fake.scheduler.request(Ask(1, 8))  # a newer request replaces it
    fake.gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert fake.stopped[0] == [Ask(1, 4)]  # stopped at its next progress call
    assert [Ask(1, 4)] not in fake.finished
    assert fake.shown == [{"target": 1, "steps": 8}]  # the old one is never shown
    assert fake.scheduler.cached(Ask(1, 4)) is None
    assert fake.calls[1:] == [("one", [Ask(1, 8)]), ("many", [Ask(0, 8), Ask(2, 8)])]


def test_a_request_answered_by_the_walk_in_flight_waits_for_it():
    fake = Fake()
    fake.walk_gate.clear()  # the listed walk is held at its first chunk
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: len(fake.calls) == 2)
    fake.scheduler.request(Ask(2, 4))  # in the walk in flight: no new computation
    assert fake.computing == 2  # "computing" until the walk lands
    fake.walk_gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert [how for how, _ in fake.calls] == ["one", "many"]
    assert fake.shown[-1] == {"target": 2, "steps": 4}


def test_a_walk_at_settings_no_longer_wanted_stops():
    fake = Fake()
    fake.walk_gate.clear()
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: len(fake.calls) == 2)
    fake.scheduler.request(Ask(0, 16))  # other settings: the walk at 4 steps is of no use now
    fake.walk_gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert [Ask(0, 4), Ask(2, 4)] in fake.stopped
    assert fake.shown[-1] == {"target": 0, "steps": 16}


def test_a_failure_is_shown_for_the_wanted_request_and_the_next_request_still_works():
    fake = Fake(fail_on=1)
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    assert len(fake.errors) == 1 and isinstance(fake.errors[0], FloatingPointError)
    assert fake.shown == [] and [how for how, _ in fake.calls] == ["one"]  # no walk after a failure
    fake.fail_on = None
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    assert fake.shown == [{"target": 1, "steps": 4}]


def test_forget_drops_every_result_and_the_next_request_computes_again():
    fake = Fake()
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    assert len(fake.scheduler.payloads()) == 3
    fake.scheduler.forget()  # the owner's model changed
    assert fake.scheduler.payloads() == {}
    fake.scheduler.request(Ask(2, 4))  # was cached before: computed again now
    fake.scheduler.wait(TIMEOUT)
    assert fake.calls[2:] == [("one", [Ask(2, 4)]), ("many", [Ask(0, 4), Ask(1, 4)])]
    assert fake.shown[-1] == {"target": 2, "steps": 4}


@pytest.mark.parametrize("held", ["wanted", "walk"])
def test_a_computation_in_flight_when_forgotten_stops_and_is_never_cached_or_shown(held):
    fake = Fake()
    (fake.gate if held == "wanted" else fake.walk_gate).clear()
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: len(fake.calls) == (1 if held == "wanted" else 2))
    shown = list(fake.shown)
    fake.scheduler.forget()
    fake.gate.set()
    fake.walk_gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert fake.stopped  # at its next progress call
    assert fake.shown == shown and fake.scheduler.payloads() == {} and fake.errors == []
    fake.scheduler.request(Ask(1, 4))  # the owner asks again: the wanted request, in a new epoch
    fake.scheduler.wait(TIMEOUT)
    assert fake.shown[-1] == {"target": 1, "steps": 4}
    assert set(fake.scheduler.payloads()) == {Ask(0, 4), Ask(1, 4), Ask(2, 4)}


def test_a_result_landing_after_forget_is_thrown_away_even_past_its_last_progress_call():
    fake = Fake()
    landed = threading.Event()
    release = threading.Event()
    compute = fake.scheduler._compute

    def compute_then_hold(request, progress):  # past the last progress call: nothing stops it any more
        computed = compute(request, progress)
        landed.set()
        assert release.wait(TIMEOUT)
        return computed

    fake.scheduler._compute = compute_then_hold
    fake.scheduler.request(Ask(1, 4))
    assert landed.wait(TIMEOUT)
    fake.scheduler.forget()
    release.set()
    fake.scheduler.wait(TIMEOUT)
    assert fake.shown == [] and fake.scheduler.payloads() == {}
    assert [how for how, _ in fake.calls] == ["one"]  # no walk of the listed ones for a forgotten epoch


def test_compute_now_is_off_the_view():
    fake = Fake()
    computed = fake.scheduler.compute_now(Ask(2, 4))
    assert computed[1] == {"target": 2, "steps": 4}
    assert fake.shown == [] and fake.scheduler.payloads() == {} and fake.progress == []


def test_the_cache_keeps_its_capacity_dropping_the_oldest():
    fake = Fake(listed=())
    for steps in range(1, 11):
        fake.scheduler.request(Ask(0, steps))
        fake.scheduler.wait(TIMEOUT)
    assert list(fake.scheduler.payloads()) == [Ask(0, steps) for steps in range(3, 11)]


def test_a_view_that_shows_the_listed_results_follows_their_walk():
    """shows_listed: the walk's progress is shown after the wanted result, and the wanted payload is
    shown again when the walk lands (the view draws the rows that came with it)."""
    fake = Fake(shows_listed=True)
    fake.walk_gate.clear()
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: len(fake.calls) == 2)
    assert fake.shown == [{"target": 1, "steps": 4}]
    shown_progress = len(fake.progress)
    fake.walk_gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert fake.progress[shown_progress:] == [1 / 3, 2 / 3, 1.0]  # the walk's chunks
    assert fake.shown == [{"target": 1, "steps": 4}] * 2
    assert set(fake.scheduler.payloads()) == {Ask(0, 4), Ask(1, 4), Ask(2, 4)}


def test_by_default_the_listed_walk_is_quiet_once_the_wanted_result_is_shown():
    fake = Fake()
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    assert fake.progress == [1 / 3, 2 / 3, 1.0]  # the wanted computation's chunks only
    assert fake.shown == [{"target": 1, "steps": 4}]


def test_a_failed_walk_is_shown_only_to_a_view_that_shows_the_listed_results():
    for shows_listed, errors in ((False, 0), (True, 1)):
        fake = Fake(fail_on=2, shows_listed=shows_listed)
        fake.scheduler.request(Ask(1, 4))
        fake.scheduler.wait(TIMEOUT)
        assert fake.shown == [{"target": 1, "steps": 4}]
        assert len(fake.errors) == errors and all(isinstance(e, FloatingPointError) for e in fake.errors)


def test_a_walk_for_settings_left_behind_is_not_shown_beside_the_new_request():
    fake = Fake(shows_listed=True)
    fake.walk_gate.clear()
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: len(fake.calls) == 2)
    fake.scheduler.request(Ask(1, 16))
    fake.walk_gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert [Ask(0, 4), Ask(2, 4)] in fake.stopped
    assert fake.shown == [{"target": 1, "steps": 4}, {"target": 1, "steps": 16}, {"target": 1, "steps": 16}]


def test_a_preview_is_shown_first_then_the_wanted_result_comes_in_the_listed_walk_and_is_never_cached():
    """With a stand-in on screen the wanted request joins the listed walk: the path's forward passes are
    made once for all of them, not once for it alone and again for the others."""
    fake = Fake(preview="coarse")
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    assert fake.calls == [("preview", [Ask(1, 4)]), ("many", [Ask(1, 4), Ask(0, 4), Ask(2, 4)])]
    assert fake.previewed == [(Ask(1, 4), {"target": 1, "steps": 1, "preview_of": 4})]
    assert fake.events == ["preview", "show"] and fake.shown == [{"target": 1, "steps": 4}]
    assert fake.progress == [1 / 3, 2 / 3, 1.0]  # the walk's progress only, not the preview's
    assert fake.scheduler.previews == {}  # the stand-in went when the final result landed
    assert set(fake.scheduler.payloads()) == {Ask(0, 4), Ask(1, 4), Ask(2, 4)}
    assert all(payload.get("preview_of") is None for payload in fake.scheduler.payloads().values())
    fake.scheduler.request(Ask(0, 4))  # cached: no preview, no computation
    fake.scheduler.wait(TIMEOUT)
    assert len(fake.calls) == 2 and fake.events == ["preview", "show", "show"]


def test_a_wanted_request_outside_the_listed_ones_joins_their_walk_too():
    fake = Fake(listed=(0, 2), preview="coarse")
    fake.scheduler.request(Ask(5, 4))
    fake.scheduler.wait(TIMEOUT)
    assert fake.calls[1:] == [("many", [Ask(5, 4), Ask(0, 4), Ask(2, 4)])]
    assert fake.shown == [{"target": 5, "steps": 4}]


def test_a_click_on_a_listed_request_during_the_joined_walk_waits_for_it():
    fake = Fake(preview="coarse")
    fake.gate.clear()  # the walk is held at its first chunk; the preview has landed
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: len(fake.calls) == 2)
    fake.scheduler.request(Ask(2, 4))  # in the walk in flight: no new computation, "computing"
    assert fake.computing == 2 and fake.events == ["preview"]
    fake.gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert [how for how, _ in fake.calls] == ["preview", "many"]
    assert fake.events == ["preview", "show"] and fake.shown == [{"target": 2, "steps": 4}]


def test_a_click_away_and_back_during_the_joined_walk_shows_the_preview_again():
    fake = Fake(preview="coarse")
    fake.gate.clear()
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: len(fake.calls) == 2)
    fake.scheduler.request(Ask(2, 4))  # away: "computing", nothing of its own to show
    fake.scheduler.request(Ask(1, 4))  # back: its preview again, at once
    assert fake.events == ["preview", "preview"] and fake.previewed[-1][0] == Ask(1, 4)
    fake.gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert [how for how, _ in fake.calls] == ["preview", "many"]  # neither click computed anything
    assert fake.events[-1] == "show" and fake.shown == [{"target": 1, "steps": 4}]
    assert fake.scheduler.previews == {}


def test_a_failed_joined_walk_is_shown_for_the_wanted_request():
    fake = Fake(preview="coarse", fail_on=2)
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    assert len(fake.errors) == 1 and isinstance(fake.errors[0], FloatingPointError)
    assert fake.events == ["preview"] and fake.scheduler.payloads() == {}


def test_a_joined_walk_at_settings_left_behind_stops_and_caches_nothing():
    fake = Fake(preview="coarse")
    fake.gate.clear()
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: len(fake.calls) == 2)
    fake.scheduler.request(Ask(1, 8))  # new settings: the old walk stops at its next chunk
    fake.gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert [Ask(1, 4), Ask(0, 4), Ask(2, 4)] in fake.stopped
    assert set(fake.scheduler.payloads()) == {Ask(0, 8), Ask(1, 8), Ask(2, 8)}
    assert fake.shown == [{"target": 1, "steps": 8}]


def test_a_preview_the_owner_declines_costs_nothing():
    fake = Fake(preview="none")  # a fast model: the hook says no
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    assert fake.previewed == [] and fake.events == ["show"]
    assert [how for how, _ in fake.calls] == ["one", "many"]  # nothing on screen: the wanted one goes first


def test_a_failed_preview_is_skipped_and_the_wanted_result_still_comes():
    fake = Fake(preview="fails")
    fake.scheduler.request(Ask(1, 4))
    fake.scheduler.wait(TIMEOUT)
    assert fake.previewed == [] and fake.errors == [] and fake.shown == [{"target": 1, "steps": 4}]


def test_a_newer_request_stops_a_preview_in_flight_and_it_is_never_shown():
    fake = Fake(preview="coarse")
    fake.preview_gate.clear()
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: fake.calls)  # the preview is in flight, held at its first chunk
    fake.scheduler.request(Ask(2, 4))
    fake.preview_gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert fake.stopped[0] == ["preview", Ask(1, 4)]
    assert [request for request, _ in fake.previewed] == [Ask(2, 4)]  # the old preview never reached the view
    assert fake.shown == [{"target": 2, "steps": 4}]
    assert fake.calls[-1] == ("many", [Ask(2, 4), Ask(0, 4), Ask(1, 4)])  # Ask(1, 4) only as a listed one


def test_a_newer_request_during_the_refinement_supersedes_it_and_gets_its_own_preview():
    fake = Fake(preview="coarse")
    fake.gate.clear()  # the refinement (the joined walk) is held; the preview passes
    fake.scheduler.request(Ask(1, 4))
    wait_for(lambda: fake.previewed)
    fake.scheduler.request(Ask(1, 8))  # More steps while the preview is on screen
    fake.gate.set()
    fake.scheduler.wait(TIMEOUT)
    assert [Ask(1, 4), Ask(0, 4), Ask(2, 4)] in fake.stopped and fake.finished == [[Ask(1, 8), Ask(0, 8), Ask(2, 8)]]
    assert [request for request, _ in fake.previewed] == [Ask(1, 4), Ask(1, 8)]
    assert fake.shown == [{"target": 1, "steps": 8}]
    assert fake.events == ["preview", "preview", "show"]


def test_preview_and_show_preview_come_together():
    needs = dict(compute=None, compute_many=None, listed=None, show=None, show_error=None, show_progress=None)
    needs.update(show_computing=None, capacity=None)
    with pytest.raises(ValueError, match="preview and show_preview"):
        RequestScheduler(**needs, preview=lambda request, progress: None)


def _imported(module) -> set[str]:
    import ast

    tree = ast.parse(pathlib.Path(module.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):  # `from . import background`: the names; else the module
            names = [alias.name for alias in node.names] if node.level and not node.module else [node.module]
            imported |= {name.split(".")[0] for name in names}
    return imported


def test_the_scheduler_imports_nothing_of_widgets():
    """Only the standard library, and `background` (its threads, waited for at exit), which imports only
    the standard library itself."""
    import ig_widget.widgets.background as background
    import ig_widget.widgets.scheduler as module

    assert _imported(module) <= {"__future__", "threading", "collections", "typing", "background"}, _imported(module)
    assert _imported(background) <= {"__future__", "atexit", "threading", "time", "weakref", "collections", "typing"}
