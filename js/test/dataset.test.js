// @vitest-environment jsdom
// The data-set gallery on a real DatasetExplorer state (fixtures/dataset.json, written by
// tests/test_dataset_widget.py): what it prints is Python's text, a click sets `opened`, the pager
// and the controls send the kernel's traits.
import { describe, expect, it } from "vitest";
import widget from "../src/index.js";
import fixture from "./fixtures/dataset.json";

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    if (typeof value.base64 === "string") {
      const bytes = Uint8Array.from(Buffer.from(value.base64, "base64"));
      return new DataView(bytes.buffer);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  }
  return value;
}

// `kernel: false` stands for an exported page's model (ig_widget/export_shim.js), which answers every
// message with a refusal; a kernel ignores the gallery's message.
function galleryModel({ kernel = true } = {}) {
  const state = { _view: "dataset", ...revive(fixture) };
  const handlers = {};
  const saved = [];
  const sent = [];
  return {
    saved,
    sent,
    send: (content) => {
      sent.push(content);
      if (!kernel) for (const h of handlers["msg:custom"] || []) h({ type: "refused", names: [] });
    },
    get: (name) => state[name],
    set: (name, value) => {
      state[name] = value;
    },
    save_changes: () => saved.push({ ...state }),
    on: (name, handler) => {
      handlers[name] = [...(handlers[name] || []), handler];
    },
    off: (name, handler) => {
      handlers[name] = (handlers[name] || []).filter((h) => h !== handler);
    },
    emit: (name) => (handlers[name] || []).forEach((h) => h()),
    state,
  };
}

function render(options) {
  const model = galleryModel(options);
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = widget.render({ model, el });
  return { model, el, cleanup };
}

describe("dataset gallery", () => {
  it("shows one card per row of the page with Python's printed numbers", () => {
    const { el } = render();
    const cards = el.querySelectorAll(".igw-ds-card");
    const rows = fixture.page_data.rows;
    expect(cards.length).toBe(rows.length);
    rows.forEach((row, i) => {
      expect(cards[i].dataset.index).toBe(String(row.index));
      const text = cards[i].textContent;
      expect(text).toContain(row.text.confidence);
      expect(text).toContain(`gap ${row.text.gap}`);
      expect(text).toContain(row.text.concentration);
    });
    const page = fixture.page_data;
    expect(el.querySelector(".igw-ds-page-text").textContent).toBe(
      `page ${page.page + 1} of ${page.pages} · ${page.matches} matching`,
    );
  });

  it("misclassified cards say so in text, not only by colour", () => {
    const { el } = render();
    for (const card of el.querySelectorAll(".igw-ds-card")) {
      const row = fixture.page_data.rows.find((r) => String(r.index) === card.dataset.index);
      expect(card.textContent).toContain(row.correct ? "✓" : "✗");
    }
  });

  it("a click on a card asks the kernel to open that example", () => {
    const { el, model } = render();
    const card = el.querySelectorAll(".igw-ds-card")[2];
    card.click();
    expect(model.saved.at(-1).opened).toBe(Number(card.dataset.index));
  });

  it("the opened example's table prints the kernel's text", () => {
    const { el } = render();
    const cells = [...el.querySelectorAll(".igw-ds-table tr")].map((tr) => [
      tr.children[0].textContent,
      tr.children[1].textContent,
    ]);
    expect(cells).toEqual(fixture.detail.rows);
  });

  it("sort, filter and paging controls send the traits, with the kernel's choices", () => {
    const { el, model } = render();
    const menus = el.querySelectorAll(".igw-ds-controls select");
    const sort = [...menus].find((menu) => [...menu.options].some((o) => o.value === "concentration"));
    expect([...sort.options].map((o) => o.value)).toEqual(fixture.meta.choices.sort.map(([key]) => key));
    sort.value = "gap";
    sort.dispatchEvent(new Event("change"));
    expect(model.saved.at(-1).sort).toBe("gap");
    const concentration = el.querySelector("input[data-trait=min_concentration]");
    expect(concentration.max).toBe(String(fixture.meta.limits.concentration.max));
    concentration.value = "0.4";
    concentration.dispatchEvent(new Event("change"));
    expect(model.saved.at(-1).min_concentration).toBe(0.4);
    el.querySelector(".igw-ds-next").click();
    expect(model.saved.at(-1).page).toBe(fixture.page + 1);
  });

  it("the per-class summary lists every class with Python's counts", () => {
    const { el } = render();
    const labels = [...el.querySelectorAll(".igw-ds-summary-label")].map((n) => n.textContent);
    expect(labels).toEqual(
      fixture.summary.classes.map((c) => `${c.label}: ${c.count} examples, ${c.errors} errors`),
    );
  });

  it("with a kernel nothing is disabled and no static note shows", () => {
    const { el, model } = render();
    expect(model.sent.length).toBe(1);
    expect(el.querySelector(".igw-static-note").hidden).toBe(true);
    expect([...el.querySelectorAll(".igw-ds-controls :is(select, input)")].some((c) => c.disabled)).toBe(
      false,
    );
    expect(el.querySelector(".igw-ds-card").getAttribute("aria-disabled")).toBeNull();
  });

  it("on a page without a kernel what needs one is disabled under the kernel's note; the rest works", () => {
    const { el, model } = render({ kernel: false });
    const note = el.querySelector(".igw-static-note");
    expect(note.hidden).toBe(false);
    expect(note.textContent).toBe(fixture.meta.static_note);
    const controls = [...el.querySelectorAll(".igw-ds-controls :is(select, input)")];
    expect(controls.length).toBe(8);
    for (const control of controls) {
      expect(control.disabled).toBe(true);
      expect(control.title).toBe(fixture.meta.static_note);
    }
    expect(fixture.page_data.pages).toBeGreaterThan(1); // paging would have somewhere to go
    expect(el.querySelector(".igw-ds-next").disabled).toBe(true);
    expect(el.querySelector(".igw-ds-previous").disabled).toBe(true);
    // the saved page still shows, with Python's text; its cards open nothing
    const cards = el.querySelectorAll(".igw-ds-card");
    expect(cards.length).toBe(fixture.page_data.rows.length);
    expect(cards[0].getAttribute("aria-disabled")).toBe("true");
    cards[1].click();
    expect(model.saved.length).toBe(0);
    // a redraw of the page keeps them so
    model.emit("change:page_data");
    expect(el.querySelector(".igw-ds-card").getAttribute("aria-disabled")).toBe("true");
    expect(el.querySelector(".igw-ds-next").disabled).toBe(true);
    // the saved example shows and closes in the view; the summary is there
    expect(el.querySelector(".igw-ds-table")).not.toBeNull();
    el.querySelector(".igw-ds-close").click();
    expect(el.querySelector(".igw-ds-table")).toBeNull();
    expect(model.saved.length).toBe(0);
    expect(el.querySelectorAll(".igw-ds-summary-label").length).toBe(fixture.summary.classes.length);
  });

  it("cleanup removes the view and its listeners", () => {
    const { el, cleanup, model } = render();
    cleanup();
    expect(el.querySelector(".igw-ds")).toBeNull();
    model.emit("change:page_data");
  });
});
