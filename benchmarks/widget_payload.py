"""ImageExplainer's payload size and the browser's redraw time for one alpha-slider move.

Run: .venv/bin/python benchmarks/widget_payload.py   (needs the built bundle and /usr/bin/chromium)

Explains a small CNN (benchmarks/models.py, random weights) on a 3 x 224 x 224 image at 32 steps,
counts the bytes the widget state sends (binary buffers + the JSON around them), then renders the
real view in headless Chromium from that exact state (an in-page stand-in for the widget model) and
times slider moves with performance.now(): the drawing is synchronous, so the time from key event
to return covers decoding nothing (done once) and redrawing the three path canvases and the chart.
"""

from __future__ import annotations

import base64
import json
import statistics
import time

import torch
from models import SmallCNN

from ig_widget import ImageExplainer
from ig_widget.export import split_buffers
from ig_widget.widgets.explainer import BUNDLE

PAYLOAD_GOAL_BYTES = 4_000_000
REDRAW_GOAL_MS = 16.0
MOVES = 21
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Restores the buffers into the state, renders the bundle's view with a minimal model, then times
# slider moves (alternating left/right so every move changes the point) and one sign change.
TIMING_JS = """async ({ bundle, state, buffers, moves }) => {
    const bytes = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    for (const { path, data } of buffers) {
        let node = state;
        for (const key of path.slice(0, -1)) node = node[key];
        const array = bytes(data);
        node[path.at(-1)] = new DataView(array.buffer);
    }
    const errors = [];
    window.addEventListener("error", (event) => errors.push(event.message));
    const handlers = {};
    const model = {
        get: (name) => state[name], set: (name, value) => { state[name] = value; }, save_changes() {}, send() {},
        on: (event, handler) => { (handlers[event] ??= []).push(handler); },
        off: () => {},
    };
    const module = await import(URL.createObjectURL(new Blob([bundle], { type: "text/javascript" })));
    const el = document.createElement("div");
    document.body.append(el);
    let started = performance.now();
    module.default.render({ model, el });
    const firstRender = performance.now() - started;
    const slider = el.querySelector(".igw-slider input");
    slider.focus();
    const scaled = el.querySelector("canvas[data-map=scaled]");
    const pixels = () => scaled.getContext("2d").getImageData(0, 0, scaled.width, scaled.height).data.join();
    const before = pixels();
    const times = [];
    for (let i = 0; i < moves; i++) {
        const key = i % 2 ? "ArrowRight" : "ArrowLeft";
        started = performance.now();
        slider.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
        times.push(performance.now() - started);
        if (i === 0 && pixels() === before) errors.push("a slider move did not redraw the scaled input");
        await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    started = performance.now();
    state.sign = "absolute";
    for (const handler of handlers["change:sign"]) handler();
    const signChange = performance.now() - started;
    return { times, firstRender, signChange, errors };
}"""


def explain() -> tuple[ImageExplainer, float]:
    torch.manual_seed(0)
    model = SmallCNN().eval()
    image = torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(0))
    started = time.perf_counter()
    widget = ImageExplainer(model, image, steps=32)
    widget.wait(600)
    if widget.status != "done":
        raise RuntimeError(f"the explanation failed: {widget.error}")
    return widget, time.perf_counter() - started


def browser_timing(state: dict, buffer_paths: list, buffers: list) -> dict:
    from playwright.sync_api import sync_playwright

    encoded = [
        {"path": path, "data": base64.b64encode(memoryview(buffer).cast("B")).decode()}
        for path, buffer in zip(buffer_paths, buffers)
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto("about:blank")
        result = page.evaluate(
            TIMING_JS, {"bundle": BUNDLE.read_text(), "state": state, "buffers": encoded, "moves": MOVES}
        )
        browser.close()
    return result


def main() -> None:
    widget, seconds = explain()
    state, buffer_paths, buffers = split_buffers(widget.get_state())
    binary = sum(len(memoryview(buffer).cast("B")) for buffer in buffers)
    result_json = len(json.dumps(state["result"]))
    total = binary + result_json
    verdict = "ok" if total < PAYLOAD_GOAL_BYTES else "OVER"
    print(f"explained 3 x 224 x 224 at 32 steps in {seconds:.1f} s ({widget.rule}, {widget.baseline} baseline)")
    print(
        f"payload: {total:,} bytes ({binary:,} binary in {len(buffers)} buffers + {result_json:,} JSON); "
        f"goal < {PAYLOAD_GOAL_BYTES:,}: {verdict}"
    )
    timing = browser_timing(state, buffer_paths, buffers)
    if timing["errors"]:
        raise RuntimeError(f"the view failed in the browser: {timing['errors']}")
    median = statistics.median(timing["times"])
    verdict = "ok" if median < REDRAW_GOAL_MS else "OVER"
    print(
        f"slider move redraw in Chromium: median {median:.2f} ms over {len(timing['times'])} moves "
        f"(max {max(timing['times']):.2f} ms); goal < {REDRAW_GOAL_MS:.0f} ms: {verdict}"
    )
    print(
        f"first render {timing['firstRender']:.1f} ms (decoding included); sign-mode change "
        f"{timing['signChange']:.1f} ms (clip recomputed over all 32 maps)"
    )


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
