// @vitest-environment jsdom
// A slow model's coarse preview (issue 15): the badge names it with its own steps and gap, says it is
// being refined, and the final result replaces it in place without a "More steps" comparison.
import { beforeEach, describe, expect, it } from "vitest";
import { gapPercent, previewNote } from "../src/badge.js";
import widget from "../src/index.js";
import { imageFixture, imageOutputs, imageResult, installCanvasMock, mockModel } from "./helpers.js";

const final = imageResult(); // a real payload from tests/test_schema.py, at 4 steps
// The same payload as a 2-step preview of it (the kernel adds `preview` and sends its own steps).
const preview = { ...imageResult(), steps: 2, preview: { final_steps: final.steps } };

function model(state) {
  return mockModel({
    _view: "image",
    target: 1,
    baseline: "black",
    rule: "gausslegendre",
    steps: final.steps,
    sign: "both",
    clip: 99,
    display: "overlay",
    opacity: 0.6,
    error: "",
    choices: imageFixture.state.choices,
    outputs: imageOutputs([1, 4]),
    ...state,
  });
}

describe("preview", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });
  const badge = () => el.querySelector(".igw-badge");
  const note = () => el.querySelector(".igw-badge-note");

  it("names the preview with its own steps and gap, then the final result replaces it in place", () => {
    const m = model({ result: preview, status: "computing", progress: 0.25 });
    widget.render({ model: m, el });
    const gap = gapPercent(preview.completeness.relative_gap);
    expect(badge().textContent).toBe(`preview, 2 steps: gap ${gap}`);
    expect(badge().dataset.preview).toBe("true");
    expect(note().textContent).toBe(previewNote(2, final.steps));
    expect(note().textContent).toContain(`refining to ${final.steps} steps`);
    expect(el.querySelector(".igw-status").textContent).toContain("computing… 25%");
    expect(el.querySelector(".igw-badge-row button").title).toBe(`Recompute with ${2 * final.steps} steps`);
    const heat = el.querySelector("canvas[data-map=attributions]");
    const slot = heat.parentElement;
    m.update("result", final);
    m.update("status", "done");
    expect(el.querySelector("canvas[data-map=attributions]")).toBe(heat); // the same map, in place
    expect(heat.parentElement).toBe(slot);
    expect(badge().textContent).toMatch(/^(complete|close|incomplete): gap /);
    expect(badge().dataset.preview).toBe("false");
    expect(note().textContent).not.toContain("More steps"); // the preview was no step the user took
    expect(note().textContent).not.toContain("preview");
  });

  it("says so when the refinement stopped with an error", () => {
    const m = model({ result: preview, status: "computing", progress: 0.5 });
    widget.render({ model: m, el });
    m.update("error", "RuntimeError: out of memory");
    m.update("status", "error");
    expect(badge().textContent).toContain("preview, 2 steps");
    expect(note().textContent).toBe(previewNote(2, final.steps, false));
    expect(note().textContent).toContain("was not computed");
  });
});
