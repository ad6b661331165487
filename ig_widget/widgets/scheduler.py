"""Request scheduling for the explainer views: a cache, one background thread, and the newest request wins.

A view's control change becomes a request. A cached result is shown at once; otherwise a background
thread computes it, so the kernel stays responsive while the view shows progress. A newer request
replaces an older one: the engine's progress callback raises `Superseded` in a computation that is
no longer wanted, so it stops at its next chunk.

Once the wanted result is shown, the same thread computes the other listed requests at the same
settings (for an explainer: the other listed outputs at the same baseline, rule and steps) in one
multi-target walk, and caches them, so clicking between them needs no recomputation. With nothing on
screen yet the wanted one goes first on its own: a lone target is ready sooner than a walk for all of
them (ResNet-18 on 2 CPU cores, 32 steps: 14 s alone, 22 s for five in one walk, 80 s for five alone).

A view that shows the listed results beside the wanted one (the generation matrix: one row per listed
request) says so with `shows_listed=True`: the walk's progress and failure are then shown while the
wanted result is already on screen, and `show` is called again with the wanted payload when the walk
lands, so the view can draw the rows that came with it.

A slow model can show a coarse result first: `preview(request, progress)` computes a cheap stand-in for
the wanted request (fewer steps of the same method) or returns None when none is worth it (a fast model
pays nothing); `show_preview(request, computed)` puts it on screen while the wanted request itself is
computed and then shown in its place. A preview is never cached: only final results are. Once a preview
is on screen the wanted request no longer goes first on its own: it joins the listed requests' walk, so
the path's forward passes are made once for all of them (ImageExplainer on ResNet-50: a lone 32-step
walk is 32 forward + 32 backward passes, a third of the 32 + 5 x 32 that the five need together). The
wanted final map then lands with the others, the preview standing in for it until then.

When what the results were computed from changes (the view's model was trained further), `forget()`
drops every cached result and preview: a computation in flight stops at its next chunk, and whatever it
computed is thrown away when it lands, never cached or shown. The owner then asks again.

Nothing here knows about widgets or traits: the owner passes the computations and what to do with
their results as functions (`tests/test_scheduler.py` drives it with a fake computation and real
threads). A request is any hashable value with `settings()`: what it shares with the requests that
one walk computes together.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol

from . import background

Progress = Callable[[int, int], None]
Computed = tuple[Any, dict]  # (the attribution result, its encoded payload)


class Schedulable(Hashable, Protocol):
    def settings(self) -> Hashable: ...


class Superseded(Exception):
    """Raised inside the engine's progress callback when a newer request has arrived."""


class RequestScheduler:
    """Computes requests in the background, newest first, with a cache.

    compute(request, progress) -> (result, payload); compute_many(requests, progress) -> one per request,
    in one walk; listed(request) -> the requests to compute with it in that walk (cached ones are
    skipped). show(payload) is called, under `lock`, when the wanted request's result is ready;
    show_error(exc) when it failed; show_progress(fraction) while the wanted request computes;
    show_computing() when a request has to wait for a computation. remember(request, computed) stores
    a result (default: `store`, into `cache`); capacity() is how many results the cache keeps.
    shows_listed: the view shows the listed results too (default False: only the wanted one); then
    show_progress and show_error also follow the walk over the listed requests at the wanted request's
    settings, and show(wanted payload) is called again once that walk's results are cached.
    preview(request, progress) -> (result, payload) or None: a coarse stand-in computed before a wanted
    request that is not cached; show_preview(request, computed) is called, under `lock`, when it is
    ready and still wanted (the view keeps status "computing"), and the wanted request is then computed in
    the listed requests' walk. Both or neither. The preview is kept in `previews` until the final result
    lands, and shown again when its request is wanted again meanwhile (a click away and back).
    forget() drops every result and preview, those in flight included (the owner's model has changed).
    """

    def __init__(
        self,
        *,
        compute: Callable[[Any, Progress], Computed],
        compute_many: Callable[[list, Progress], list[Computed]],
        listed: Callable[[Any], Sequence],
        show: Callable[[dict], None],
        show_error: Callable[[BaseException], None],
        show_progress: Callable[[float], None],
        show_computing: Callable[[], None],
        capacity: Callable[[], int],
        remember: Callable[[Any, Computed], None] | None = None,
        shows_listed: bool = False,
        preview: Callable[[Any, Progress], Computed | None] | None = None,
        show_preview: Callable[[Any, Computed], None] | None = None,
    ):
        if (preview is None) != (show_preview is None):
            raise ValueError("preview and show_preview come together: give both or neither")
        self._compute, self._compute_many, self._listed = compute, compute_many, listed
        self._show, self._show_error = show, show_error
        self._show_progress, self._show_computing = show_progress, show_computing
        self._capacity = capacity
        self._shows_listed = shows_listed
        self._preview, self._show_preview_callback = preview, show_preview
        self.previews: dict[Any, Computed] = {}  # stand-ins on screen or shown again, until their final results
        self._remember = remember or self.store
        self.lock = threading.Lock()  # guards the cache, `wanted`, the walk in flight, and what is shown
        self._compute_lock = threading.Lock()  # one computation at a time
        self.cache: OrderedDict[Any, Computed] = OrderedDict()
        self.wanted: Schedulable | None = None  # the newest request: what the view should show
        self._walking: frozenset = frozenset()  # requests the multi-target walk in flight computes
        self._epoch = 0  # moved by `forget`: a computation started in an earlier epoch is thrown away
        self._worker: threading.Thread | None = None

    # -- public ----------------------------------------------------------------------------------
    def request(self, request: Schedulable) -> None:
        """Show `request`'s result: from the cache, or computed in the background (then the listed ones)."""
        with self.lock:
            self.wanted = request
            self.previews = {
                each: kept for each, kept in self.previews.items() if each.settings() == request.settings()
            }
            cached = self.cache.get(request)
            if cached is not None:
                self.cache.move_to_end(request)
                self._show(cached[1])
            else:
                self._show_computing()
                if request in self.previews:  # its stand-in, shown until the final result lands
                    self._show_preview_callback(request, self.previews[request])
            if request in self._walking:  # the walk in flight shows it when done
                return
            if cached is not None and not self._missing(request):
                return
        self._worker = background.start(self._work, request)

    def wait(self, timeout: float | None = 60.0) -> None:
        """Block until the newest request, and the listed ones at its settings, are computed."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                raise TimeoutError(f"the attribution did not finish within {timeout} s")

    def cached(self, request: Schedulable) -> Computed | None:
        """The cached (result, payload) of `request`, or None."""
        return self.cache.get(request)

    def payloads(self) -> dict:
        """Every cached request with its payload, oldest first."""
        with self.lock:
            return {request: payload for request, (_, payload) in self.cache.items()}

    def compute_now(self, request: Schedulable) -> Computed:
        """Compute `request` in this thread, off the view: nothing is shown, cached or superseded."""
        return self._compute(request, lambda done, total: None)

    def forget(self) -> None:
        """Drop every cached result and preview; a computation in flight stops at its next chunk and
        what it computed is neither cached nor shown. The wanted request stays: `request` asks again."""
        with self.lock:
            self._epoch += 1
            self.cache.clear()
            self.previews.clear()
            self._walking = frozenset()

    def store(self, request: Schedulable, computed: Computed) -> None:
        """Keep a result in `cache`, dropping the oldest beyond `capacity()`."""
        self.cache[request] = computed
        while len(self.cache) > self._capacity():
            self.cache.popitem(last=False)

    # -- the worker ------------------------------------------------------------------------------
    def _work(self, request: Schedulable) -> None:
        with self._compute_lock:  # one no longer wanted stops at its next chunk
            with self.lock:
                epoch = self._epoch
            if self.wanted != request:  # replaced while queued: the newer request has its own worker
                return
            if request in self.cache:
                self._compute_listed(request, epoch)
                return
            try:
                previewed = self._compute_preview(request, epoch)
            except Superseded:
                return
            if self.wanted != request:  # replaced during the preview
                return
            if previewed:  # a stand-in is on screen: the final result comes with the listed ones
                self._compute_listed(request, epoch, with_wanted=True)
            elif self._compute_wanted(request, epoch):
                self._compute_listed(request, epoch)

    def _compute_wanted(self, request: Schedulable, epoch: int) -> bool:
        """Compute the wanted request alone and show it; False when it failed, was replaced or forgotten."""
        try:
            computed = self._compute(request, self._reporter(epoch, lambda: self.wanted == request))
        except Superseded:
            return False
        except Exception as exc:  # shown in the view: the user's model can raise anything
            with self.lock:
                if self.wanted == request and self._epoch == epoch:
                    self._show_error(exc)
            return False
        with self.lock:
            if self._epoch != epoch:
                return False
            self._remember(request, computed)
            if self.wanted == request:
                self._show(computed[1])
        return True

    def _compute_preview(self, request: Schedulable, epoch: int) -> bool:
        """Show a coarse stand-in for `request` first, when the owner gives one; True when it was shown.
        Raises Superseded when the request was replaced meanwhile; a failed preview is skipped (the request
        itself reports)."""
        if request in self.previews:  # shown again by `request`
            return True
        if self._preview is None:
            return False
        try:
            computed = self._preview(request, self._reporter(epoch, lambda: self.wanted == request, ()))
        except Superseded:
            raise
        except Exception:  # the full computation fails the same way and shows the error, or succeeds
            return False
        if computed is None:
            return False
        with self.lock:
            if self.wanted != request or request in self.cache or self._epoch != epoch:
                return False
            self.previews[request] = computed
            self._show_preview_callback(request, computed)
        return True

    def _compute_listed(self, request: Schedulable, epoch: int, with_wanted: bool = False) -> None:
        """Compute the listed requests not yet cached at the request's settings, in one walk; `with_wanted`:
        the request itself first among them (it is shown when the walk lands)."""
        with self.lock:
            if self._epoch != epoch:
                return
            missing = self._missing(request)
            if with_wanted:
                missing = [request, *(each for each in missing if each != request)]
            self._walking = frozenset(missing)
        if not missing:
            return

        def still_useful() -> bool:  # the wanted result is cached or in this walk, at these settings
            wanted = self.wanted
            return (
                wanted is not None
                and wanted.settings() == request.settings()
                and (wanted in self._walking or wanted in self.cache)
            )

        def shown() -> bool:  # what this walk does is news to the view
            return self.wanted in self._walking or (self._shows_listed and still_useful())

        report = self._reporter(epoch, still_useful, None if self._shows_listed else missing)
        try:
            computed = self._compute_many(missing, report)
        except Superseded:
            computed = None
        except Exception as exc:  # only news to the view when it shows one of these
            computed = None
            with self.lock:
                if shown() and self._epoch == epoch:
                    self._show_error(exc)
        with self.lock:
            if self._epoch != epoch:  # forgotten meanwhile: `forget` has emptied the walk
                return
            beside = computed is not None and self.wanted not in self._walking and shown()
            self._walking = frozenset()
            for each, result in zip(missing, computed or []):
                self._remember(each, result)
                self.previews.pop(each, None)
                if self.wanted == each:
                    self._show(result[1])
            if beside and self.wanted in self.cache:  # the wanted result, shown again with the rows beside it
                self._show(self.cache[self.wanted][1])

    def _missing(self, request: Schedulable) -> list:
        return [each for each in self._listed(request) if each not in self.cache]

    def _reporter(self, epoch: int, still_useful: Callable[[], bool], shown: Sequence | None = None) -> Progress:
        """Stops the computation once it is no longer useful (or its `epoch` was forgotten); reports progress
        while the wanted request is among those computed (`shown`, or any when None)."""

        def report(done: int, total: int) -> None:
            if background.stopping.is_set() or not still_useful() or self._epoch != epoch:  # exiting, replaced
                raise Superseded()
            if shown is None or self.wanted in shown:
                self._show_progress(done / max(1, total))

        return report
