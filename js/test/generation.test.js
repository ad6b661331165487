// @vitest-environment jsdom
// The generation view on payloads the kernel wrote (tests/test_generation_widget.py writes the fixture):
// the numbers it prints are the kernel's, tokens are text, clicks send the kernel what it needs.
import { beforeEach, describe, expect, it } from "vitest";
import widget from "../src/index.js";
import { gapPercent } from "../src/badge.js";
import { formatNumber } from "../src/chart.js";
import { cellSize, matrixCells } from "../src/generation/matrix.js";
import { decodeGenerationResult, rowView } from "../src/generation/result.js";
import { checkModelChangedNotice, mockModel } from "./helpers.js";
import raw from "./fixtures/generation.json";

/** The fixture with every {base64} turned back into the binary a kernel sends. */
function load() {
  const revive = (value) => {
    if (Array.isArray(value)) return value.map(revive);
    if (value && typeof value === "object") {
      if (typeof value.base64 === "string") {
        const bytes = Uint8Array.from(Buffer.from(value.base64, "base64"));
        return new DataView(bytes.buffer);
      }
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
    }
    return value;
  };
  return revive(raw);
}

const fixture = load();
const { payload, expected } = fixture;

let rects = [];
function installRecordingCanvas() {
  rects = [];
  globalThis.ImageData ??= class ImageData {
    constructor(data, width, height) {
      Object.assign(this, { data, width, height });
    }
  };
  HTMLCanvasElement.prototype.getContext = function getContext() {
    return {
      fillStyle: "",
      strokeStyle: "",
      lineWidth: 1,
      setTransform() {},
      clearRect() {},
      strokeRect() {},
      putImageData() {},
      fillRect(x, y, w, h) {
        rects.push({ colour: this.fillStyle, x, y, w, h });
      },
    };
  };
}

function generationModel(overrides = {}) {
  return mockModel({
    _view: "generation",
    result: payload,
    selected: 0,
    target_kind: "logit",
    alternative: null,
    baseline: "zero",
    rule: "gausslegendre",
    steps: 4,
    sign: "both",
    clip: 99,
    granularity: "tokens",
    scale: "shared",
    status: "done",
    progress: 1,
    error: "",
    choices: fixture.choices, // the kernel's menus; limits and palette: the contract's (mockModel)
    ...overrides,
  });
}

function mount(model) {
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = widget.render({ model, el });
  return { el, cleanup };
}

beforeEach(() => {
  document.body.replaceChildren();
  installRecordingCanvas();
});

describe("a model changed since the rows were computed", () => {
  it("is said in the status line, and Recompute asks the kernel", () => {
    const model = generationModel();
    const { el } = mount(model);
    checkModelChangedNotice(model, el, expect);
  });
});

describe("decoding the kernel's payload", () => {
  it("gives the kernel's float32 matrix and contrast row exactly", () => {
    const r = decodeGenerationResult(payload);
    expect(r.rows).toEqual([...Array(payload.generated).keys()]);
    expect(Array.from(r.matrix)).toEqual(expected.matrix.flat());
    const c = decodeGenerationResult(fixture.contrast_payload);
    expect(Array.from(c.contrast.attributions)).toEqual(expected.contrast_row);
    expect(c.contrast.alternative).toBe(expected.contrast_alternative);
    expect(r.rowCompleteness.map((row) => row.gap)).toEqual(expected.gaps);
  });

  it("reads a row's values and path, zero at and after its own token", () => {
    const r = decodeGenerationResult(payload);
    const view = rowView(r, 1, false);
    const own = r.promptLength + 1;
    expect(Array.from(view.values.subarray(own))).toEqual(new Array(r.count - own).fill(0));
    expect(view.cumulativeTotal.length).toBe(r.alphas.length);
    expect(rowView({ ...r, rows: [0] }, 2, false)).toBeNull(); // not computed yet
  });

  it("colours each row on one scale, or each on its own", () => {
    const r = decodeGenerationResult(payload);
    const groups = r.tokens.map((_, i) => [i, i + 1]);
    const shared = matrixCells(r, groups, 99, "both", "shared");
    const own = matrixCells(r, groups, 99, "both", "row");
    expect(new Set(shared.clips).size).toBe(1);
    expect(new Set(own.clips).size).toBeGreaterThan(1);
  });
});

describe("the view", () => {
  it("shows prompt and generated tokens as text, with the generated ones selectable", () => {
    const model = generationModel();
    const { el } = mount(model);
    const root = el.querySelector(".igw-gen");
    expect(root.getAttribute("data-lm-suppress-shortcuts")).toBe("true");
    const strip = el.querySelector('[data-strip="context"]');
    const spans = strip.querySelectorAll(".igw-token");
    expect(spans.length).toBe(payload.tokens.length);
    expect(strip.querySelector("b")).toBeNull();
    expect(strip.textContent).toContain("<b>");
    const generated = strip.querySelectorAll(".igw-token-generated");
    expect(generated.length).toBe(payload.generated);
    expect(spans[payload.prompt_length].classList.contains("igw-token-selected")).toBe(true);
    // the row's score is named as the kernel names it
    expect(el.textContent).toContain(`(1 of ${payload.generated}: its ${payload.matrix_score_name})`);
  });

  it("clicking a generated token sends `selected`; the kernel's change recolours the context", () => {
    const model = generationModel();
    const { el } = mount(model);
    const strip = el.querySelector('[data-strip="context"]');
    const before = Array.from(strip.querySelectorAll(".igw-token")).map((s) => s.style.backgroundColor);
    strip.querySelectorAll(".igw-token-generated")[2].click();
    expect(model.saved.at(-1)).toEqual({ selected: 2 });
    model.update("selected", 2);
    const after = Array.from(strip.querySelectorAll(".igw-token")).map((s) => s.style.backgroundColor);
    expect(after.slice(0, payload.prompt_length)).not.toEqual(before.slice(0, payload.prompt_length));
    const spans = strip.querySelectorAll(".igw-token");
    expect(spans[payload.prompt_length + 2].classList.contains("igw-token-selected")).toBe(true);
    // the titles print the kernel's numbers for row 2
    const title = spans[1].title;
    expect(title).toContain(formatNumber(expected.matrix[2][1]));
    // arrow keys move the selection along the generated tokens
    spans[payload.prompt_length + 2].dispatchEvent(
      new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }),
    );
    expect(model.saved.at(-1)).toEqual({ selected: 1 });
  });

  it("the badge follows the selected row", () => {
    const model = generationModel();
    const { el } = mount(model);
    const badge = el.querySelector(".igw-badge");
    expect(badge.textContent).toContain(gapPercent(payload.row_completeness[0].relative_gap));
    model.update("selected", 2);
    expect(badge.textContent).toContain(gapPercent(payload.row_completeness[2].relative_gap));
  });

  it("hovering a matrix cell prints the pair's number beside the pointer; a click selects the row", () => {
    const model = generationModel();
    const { el } = mount(model);
    const canvas = el.querySelector(".igw-gen-matrix canvas");
    const size = cellSize(payload.generated, payload.tokens.length);
    const at = (row, column) => ({
      clientX: column * size.width + 1,
      clientY: row * size.height + 1,
      bubbles: true,
    });
    canvas.dispatchEvent(new MouseEvent("mousemove", at(1, 2)));
    const tip = el.querySelector(".igw-gen-tip");
    expect(tip.hidden).toBe(false);
    expect(tip.textContent).toBe(
      `“${payload.tokens[2]}” → “${payload.tokens[payload.prompt_length + 1]}”: ` +
        `${formatNumber(expected.matrix[1][2])}`,
    );
    canvas.dispatchEvent(new MouseEvent("click", at(2, 0)));
    expect(model.saved.at(-1)).toEqual({ selected: 2 });
    // one cell per computed (row, token) pair is drawn
    expect(rects.length).toBe(payload.generated * payload.tokens.length);
  });

  it("clicking an alternative asks for the contrast; the contrast payload is shown with its numbers", () => {
    const model = generationModel({ selected: 1 });
    const { el } = mount(model);
    const buttons = Array.from(el.querySelectorAll(".igw-outputs .igw-output"));
    const chosen = payload.chosen_tokens[1];
    expect(buttons.find((b) => Number(b.dataset.index) === chosen).getAttribute("aria-pressed")).toBe("true");
    buttons.find((b) => Number(b.dataset.index) === expected.contrast_alternative).click();
    expect(model.saved.at(-1)).toEqual({
      alternative: expected.contrast_alternative,
      target_kind: "contrast",
    });
    model.state.target_kind = "contrast";
    model.state.alternative = expected.contrast_alternative;
    model.update("result", fixture.contrast_payload);
    const caption = el.querySelector(".igw-gen-main .igw-panel-title").textContent;
    expect(caption).toContain("minus that of");
    const spans = el.querySelectorAll('[data-strip="context"] .igw-token');
    expect(spans[0].title).toContain(formatNumber(expected.contrast_row[0]));
    const pressed = el.querySelector('.igw-output[aria-pressed="true"]');
    expect(Number(pressed.dataset.index)).toBe(expected.contrast_alternative);
    // the generated token itself goes back to the matrix's kind
    el.querySelector(`.igw-output[data-index="${chosen}"]`).click();
    expect(model.saved.at(-1)).toEqual({ target_kind: "logit", alternative: null });
  });

  it("on a static page, offers only what the page holds and shows a refusal beside the row kind", () => {
    const request = {
      target_kind: "logit",
      alternative: null,
      baseline: "zero",
      rule: "gausslegendre",
      steps: 4,
    };
    const model = generationModel({
      _static_page: { note: "Static page", keys: Object.keys(request), requests: [request] },
    });
    const custom = [];
    const on = model.on;
    model.on = (event, handler) => (event === "msg:custom" ? custom.push(handler) : on(event, handler));
    const { el } = mount(model);
    const kind = [...el.querySelectorAll("select")].find((s) => s.labels[0].textContent === "Rows explain");
    const disabled = [...kind.options].filter((o) => o.disabled).map((o) => o.value);
    expect(disabled).toEqual(payload.target_kinds.filter((k) => k !== "logit" && k !== "contrast"));
    const buttons = [...el.querySelectorAll(".igw-outputs .igw-output")];
    const chosen = String(payload.chosen_tokens[0]);
    expect(buttons.filter((b) => b.disabled).map((b) => b.dataset.index)).toEqual(
      buttons.map((b) => b.dataset.index).filter((index) => index !== chosen),
    );
    for (const handler of custom)
      handler({ type: "refused", names: ["target_kind"], message: "needs a kernel" }, []);
    expect(kind.value).toBe("logit");
    expect(kind.parentElement.textContent).toContain("needs a kernel");
  });

  it("shows rows as they arrive and cleans up its listeners", () => {
    const partial = fixture.partial_payload; // what the kernel sent with only the selected row computed
    expect(partial.rows).toEqual([1]);
    const count = payload.tokens.length;
    // the user has clicked row 0, which the walk over the other rows has not brought yet
    const model = generationModel({ result: partial, selected: 0, status: "computing", progress: 0.3 });
    const { el, cleanup } = mount(model);
    expect(el.textContent).toContain(`rows computed: 1 of ${payload.generated}`);
    expect(el.querySelector(".igw-gen-main .igw-panel-title").textContent).toContain("computing");
    expect(rects.length).toBe(count);
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });
});
