// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from "vitest";
import widget from "../src/index.js";
import { formatNumber } from "../src/chart.js";
import { FADE_BELOW, unitColours } from "../src/text/strip.js";
import { displayUnits, textColourOn, unitName, unitTrace, unitValues } from "../src/text/units.js";
import { decodeTextResult } from "../src/text/result.js";
import { usePalette } from "../src/colormaps.js";
import { contract, installCanvasMock, mockModel, textFixture, textResult } from "./helpers.js";

usePalette(contract.palette); // the pure colour functions below draw with the kernel's palette

const HOSTILE = [
  "<script>window.__pwned = 1</script>",
  '<img src=x onerror="window.__pwned = 2">',
  "&amp;",
  "🙂",
];

// Real TextExplainer payloads (tests/test_schema.py writes fixtures/text.json): a classifier on
// "unbelievable film" with a WordPiece tokenizer, markup tokens, a language model, 512 tokens.
const alphas = new Float32Array(textResult().trace.alphas.data.buffer.slice(0));

function textModel(overrides = {}) {
  return mockModel({
    _view: "text",
    ...textFixture.state,
    clip: 100,
    status: "done",
    progress: 1,
    error: "",
    result: textResult(),
    ...overrides,
  });
}

const strip = (el, name) => [...el.querySelectorAll(`[data-strip=${name}] .igw-token`)];
const colours = (spans) => spans.map((s) => s.style.backgroundColor);

describe("text units", () => {
  const result = decodeTextResult(textResult());

  it("merges subwords into words whose values are the sums of their tokens", () => {
    const words = displayUnits(result, "words");
    expect(words.texts).toEqual(["[CLS]", "unbelievable", "film", "[SEP]"]);
    expect(words.special).toEqual([true, false, false, true]);
    const values = unitValues(result.attributions, words.groups);
    const tokens = result.attributions;
    expect(values[1]).toBeCloseTo(tokens[1] + tokens[2] + tokens[3], 6);
    expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(
      tokens.reduce((s, v) => s + v, 0),
      5,
    );
  });

  it("keeps one unit per token at token granularity, and sums each trace step on its own", () => {
    const units = displayUnits(result, "tokens");
    expect(units.texts).toEqual(result.tokens);
    const words = displayUnits(result, "words");
    const trace = unitTrace(result.cumulative, words.groups, 4, result.count);
    expect(trace).toHaveLength(4 * 4);
    const step = 2 * result.count;
    expect(trace[2 * 4 + 1]).toBeCloseTo(
      result.cumulative[step + 1] + result.cumulative[step + 2] + result.cumulative[step + 3],
      6,
    );
  });

  it("names an empty byte piece after the character it is part of", () => {
    const texts = ["I", " ", "", "", "😀", " caf", "", "é"];
    expect(unitName(texts, 4)).toBe("😀");
    expect(unitName(texts, 2)).toBe("part of “😀”");
    expect(unitName(texts, 3)).toBe("part of “😀”");
    expect(unitName(texts, 6)).toBe("part of “é”");
    expect(unitName(texts, 1)).toBe(" ");
  });

  it("picks readable text colours and the palette ends for clipped values", () => {
    expect(textColourOn(255, 255, 255)).toBe("#000");
    expect(textColourOn(20, 0, 60)).toBe("#fff");
    expect(unitColours(5, 1, "both").background).toBe(unitColours(1, 1, "both").background);
    expect(unitColours(0, 1, "both").background).not.toBe(unitColours(1, 1, "both").background);
    expect(unitColours(-1, 1, "both").background).not.toBe(unitColours(1, 1, "both").background);
  });
});

describe("text view", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
    delete window.__pwned;
  });

  it("renders tokens coloured, the badge, and suppresses JupyterLab shortcuts", () => {
    widget.render({ model: textModel(), el });
    expect(el.querySelector(".igw").getAttribute("data-lm-suppress-shortcuts")).toBe("true");
    const spans = strip(el, "attributions");
    expect(spans.map((s) => s.textContent)).toEqual(["[CLS]", "un", "believ", "able", "film", "[SEP]"]);
    expect(spans[0].classList.contains("igw-token-special")).toBe(true);
    expect(new Set(colours(spans)).size).toBeGreaterThan(3);
    expect(el.querySelector(".igw-badge").dataset.level).toBe("good");
    expect(el.querySelector(".igw-panel-title").textContent).toContain("label 0");
  });

  it("shows token and label strings literally and runs nothing", () => {
    widget.render({
      model: textModel({ result: textResult("hostile"), outputs: textFixture.outputs.hostile }),
      el,
    });
    const spans = strip(el, "attributions");
    expect(spans.map((s) => s.textContent)).toEqual(HOSTILE);
    expect(el.querySelectorAll(".igw script, .igw img, .igw [onerror]")).toHaveLength(0);
    expect(el.querySelector(".igw-output[data-index='1'] .igw-output-label").textContent).toBe(HOSTILE[1]);
    expect(window.__pwned).toBeUndefined();
  });

  it("hover shows the score of the token", () => {
    widget.render({ model: textModel(), el });
    const result = decodeTextResult(textResult());
    const span = strip(el, "attributions")[4];
    span.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    const readout = el.querySelector(".igw-readout").textContent;
    expect(readout).toContain("“film”");
    expect(readout).toContain(`attribution ${formatNumber(result.attributions[4])}`);
    expect(span.title).toMatch(/^film: attribution /);
  });

  it("the readout follows the pointed token through slider moves, and clears when units change", () => {
    const model = textModel();
    widget.render({ model, el });
    strip(el, "attributions")[4].dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    const readout = el.querySelector(".igw-readout");
    expect(readout.textContent).toContain(`at α = ${alphas[3].toFixed(3)}`);
    el.querySelector(".igw-slider input").dispatchEvent(
      new KeyboardEvent("keydown", { key: "Home", bubbles: true }),
    );
    expect(readout.textContent).toContain("“film”");
    expect(readout.textContent).toContain(`at α = ${alphas[0].toFixed(3)}`);
    model.update("granularity", "words");
    expect(readout.textContent).toBe("");
  });

  it("clicking an output asks the kernel for that target", () => {
    const model = textModel();
    widget.render({ model, el });
    el.querySelector(".igw-output[data-index='1']").click();
    expect(model.saved).toContainEqual({ target: 1 });
  });

  it("follows a target set in Python, and a focused token reads out like a hovered one", () => {
    const model = textModel();
    widget.render({ model, el });
    model.update("target", 1);
    expect(el.querySelector(".igw-output[data-index='1']").getAttribute("aria-pressed")).toBe("true");
    expect(el.querySelector(".igw-output[data-index='0']").getAttribute("aria-pressed")).toBe("false");
    model.update("result", textResult("1"));
    expect(el.querySelector(".igw-panel-title").textContent).toBe(`Attributions for “${HOSTILE[1]}”`);
    const span = strip(el, "attributions")[2];
    expect(span.tabIndex).toBe(0);
    span.focus();
    expect(el.querySelector(".igw-readout").textContent).toContain("“believ”");
  });

  it("the alpha slider recolours the accumulated tokens without the kernel", () => {
    const model = textModel();
    widget.render({ model, el });
    const slider = el.querySelector(".igw-slider input");
    const before = colours(strip(el, "cumulative"));
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "Home", bubbles: true }));
    const after = colours(strip(el, "cumulative"));
    expect(after).not.toEqual(before);
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "End", bubbles: true }));
    expect(colours(strip(el, "cumulative"))).toEqual(before);
    expect(model.saved).toEqual([]);
  });

  it("switches to words in the view alone", () => {
    const model = textModel();
    widget.render({ model, el });
    model.update("granularity", "words");
    expect(strip(el, "attributions").map((s) => s.textContent)).toEqual([
      "[CLS]",
      "unbelievable",
      "film",
      "[SEP]",
    ]);
    expect(strip(el, "cumulative")).toHaveLength(4);
  });

  it("renders 512 tokens and recolours all of them on a slider move (speed is measured in benchmarks)", () => {
    widget.render({ model: textModel({ result: textResult("long") }), el });
    expect(strip(el, "attributions")).toHaveLength(512);
    const slider = el.querySelector(".igw-slider input");
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "Home", bubbles: true }));
    const atStart = colours(strip(el, "cumulative"));
    slider.dispatchEvent(new KeyboardEvent("keydown", { key: "End", bubbles: true }));
    const atEnd = colours(strip(el, "cumulative"));
    expect(atEnd).toHaveLength(512);
    expect(atEnd).not.toEqual(atStart);
  });

  it("removes its listeners and elements on cleanup", () => {
    const model = textModel();
    const cleanup = widget.render({ model, el });
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.querySelector(".igw")).toBeNull();
  });
});

describe("token colours over the theme", () => {
  const DARK = [17, 17, 17];

  it("fades values near zero into the background instead of the palette's white middle", () => {
    expect(unitColours(0, 1, "both", DARK).background).toBe("rgb(17, 17, 17)");
    expect(unitColours(0, 1, "both", DARK).foreground).toBe("#fff");
    expect(unitColours(0, 1, "both").background).toBe("rgb(255, 255, 255)");
    expect(unitColours(0, 1, "absolute", DARK).background).toBe("rgb(17, 17, 17)"); // not viridis' dark purple
  });

  it("draws values from half the clip on in the palette's own colour, whatever the theme", () => {
    for (const value of [FADE_BELOW, 0.6, -1]) {
      expect(unitColours(value, 1, "both", DARK).background).toBe(unitColours(value, 1, "both").background);
    }
    const half = unitColours(FADE_BELOW / 2, 1, "both", DARK).background;
    expect(half).not.toBe(unitColours(FADE_BELOW / 2, 1, "both").background);
  });
});

describe("text view marks", () => {
  let el;
  beforeEach(() => {
    installCanvasMock();
    el = document.createElement("div");
    document.body.replaceChildren(el);
  });

  it("outlines the hovered token in both strips, and only that one", () => {
    widget.render({ model: textModel(), el });
    const pointed = () =>
      ["attributions", "cumulative"].map((name) =>
        strip(el, name).flatMap((span, i) => (span.classList.contains("igw-token-pointed") ? [i] : [])),
      );
    expect(pointed()).toEqual([[], []]);
    strip(el, "attributions")[2].dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(pointed()).toEqual([[2], [2]]);
    strip(el, "cumulative")[4].dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(pointed()).toEqual([[4], [4]]);
  });

  it("shows which position and token a language model's explanation is for", () => {
    const result = textResult("next_token"); // "[CLS] the dog ran to the [SEP]", explained after the second "the"
    const { position, tokens, target_label: next } = result;
    expect([result.task, position, tokens.length]).toEqual(["next_token", 5, 7]);
    widget.render({ model: textModel({ result }), el });
    const caption = el.querySelector(".igw-text-main .igw-panel-title").textContent;
    expect(caption).toBe(`Attributions for the next token “${next}”, predicted after “the” (token 6 of 7)`);
    const spans = strip(el, "attributions");
    expect(spans.map((span) => span.classList.contains("igw-token-position"))).toEqual(
      tokens.map((_, i) => i === 5),
    );
    expect(spans.map((span) => span.classList.contains("igw-token-after"))).toEqual(
      tokens.map((_, i) => i === 6),
    );
    const marked = spans[5].nextElementSibling;
    expect(marked.className).toBe("igw-token-next");
    expect(marked.textContent).toBe(next);
  });

  it("marks nothing for a classifier", () => {
    widget.render({ model: textModel(), el });
    expect(el.querySelector(".igw-token-next, .igw-token-position, .igw-token-after")).toBeNull();
    expect(el.querySelector(".igw-text-main .igw-panel-title").textContent).toBe(
      "Attributions for “label 0”",
    );
  });
});
