// @vitest-environment jsdom
// Numbers the view prints: formatting, axis ticks, the exact clip value the legend prints, error
// bounds of decoded trace values, and the completeness badge's tooltip and "More steps" note, fed
// with completeness payloads written by Python (tests/test_payload_precision.py).
import { describe, expect, it } from "vitest";
import { completenessDetails, createBadge, gapLevel, roundingNote } from "../src/badge.js";
import { createPathChart, formatApprox, formatNumber, niceTicks, operand } from "../src/chart.js";
import { errorOf } from "../src/decode.js";
import { clipValue } from "../src/normalise.js";
import fixtures from "./fixtures/completeness.json";
import { arrayCase } from "./helpers.js";

describe("formatNumber", () => {
  it("keeps the digits of whole numbers and writes a true minus", () => {
    expect(formatNumber(100)).toBe("100"); // was "1": trailing zeros of an integer were stripped
    expect(formatNumber(250)).toBe("250");
    expect(formatNumber(10)).toBe("10");
    expect(formatNumber(1.5)).toBe("1.5");
    expect(formatNumber(2)).toBe("2");
    expect(formatNumber(-3.64)).toBe("−3.64");
    expect(formatNumber(-0.000123)).toBe("−1.2e−4");
  });

  it("puts negative operands in parentheses and marks inexact values with their error", () => {
    expect(`7.82 − ${operand(-3.64)}`).toBe("7.82 − (−3.64)");
    expect(operand(3.64)).toBe("3.64");
    expect(formatApprox(0.1234, 0)).toBe("0.123");
    expect(formatApprox(0.1234, 0.0041)).toBe("≈ 0.123 ± 0.004");
  });
});

describe("niceTicks", () => {
  const cases = [
    [-3.64, 7.82],
    [0, 0.93],
    [-2.4e-5, 6.1e-5],
    [0, 48213],
    [-0.31, 0],
  ];
  it.each(cases)("round steps covering [%f, %f], 0 among them", (low, high) => {
    const axis = niceTicks(low, high);
    expect(axis.low).toBeLessThanOrEqual(low);
    expect(axis.high).toBeGreaterThanOrEqual(high);
    expect(axis.ticks).toContain(0);
    expect(axis.ticks.length).toBeGreaterThanOrEqual(3);
    expect(axis.ticks.length).toBeLessThanOrEqual(6);
    const step = axis.ticks[1] - axis.ticks[0];
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
    // each label, times the axis scale, is its tick
    axis.labels.forEach((label, i) =>
      expect(Number(label.replace("−", "-")) * 10 ** axis.exponent).toBeCloseTo(axis.ticks[i], 12),
    );
    for (const label of axis.labels) expect(label).toMatch(/^−?\d+(\.\d+)?$/); // no exponent on any label
  });

  it("writes the scale once for tiny values", () => {
    const axis = niceTicks(-2.4e-5, 6.1e-5);
    expect(axis.exponent).toBe(-5);
    expect(axis.labels).toEqual(["−5", "0", "5", "10"]);
  });

  it("the chart prints its ticks, the scale once, and F(x) − F(x′)", () => {
    const chart = createPathChart();
    const change = [
      [0, 0],
      [0.5, 4e-5],
      [1, 6.1e-5],
    ];
    chart.setData({
      change,
      accumulated: [
        [0, 0],
        [0.5, -2.4e-5],
        [1, 6e-5],
      ],
      goal: 6.1e-5,
    });
    const texts = [...chart.root.querySelectorAll("text")].map((t) => t.textContent);
    expect(texts.filter((t) => t.includes("×"))).toEqual(["× 1e−5"]);
    const ticks = [...chart.root.querySelectorAll(".igw-tick-y")].map((t) => t.textContent);
    expect(ticks).toContain("0");
    for (const tick of ticks) expect(tick).not.toMatch(/e/);
    expect(chart.root.querySelector(".igw-goal-value").textContent).toBe("F(x) − F(x′) = 6.1e−5");
  });
});

describe("clipValue", () => {
  it("is exactly the first magnitude whose running sum reaches the share of the total", () => {
    const values = Float32Array.from(
      { length: 5000 },
      (_, i) => ((Math.sin(i * 12.9898) * 43758.5453) % 1) * ((i % 7) - 3),
    );
    const sorted = Array.from(values, Math.abs).sort((a, b) => a - b);
    const total = sorted.reduce((s, v) => s + v, 0);
    for (const percent of [50, 90, 99, 99.5]) {
      let running = 0;
      let exact;
      for (const m of sorted) {
        running += m;
        if (running >= (percent / 100) * total) {
          exact = m;
          break;
        }
      }
      expect(clipValue(values, percent)).toBe(exact); // the histogram alone was off by up to max / 4096
    }
  });
});

describe("errorOf", () => {
  it("is 0 for float32 and half a step of the value's own slice for int8", () => {
    expect(errorOf(arrayCase("float32").payload)(1)).toBe(0);
    const { payload } = arrayCase("int8_per_slice"); // the kernel's int8, a scale per slice of 4 values
    const error = errorOf(payload);
    expect(error(1)).toBe(payload.scale[0] / 2);
    expect(error(5)).toBe(payload.scale[1] / 2);
    expect(payload.scale[1]).toBeCloseTo(100 / 127, 12);
  });
});

describe("completeness badge", () => {
  const render = (...steps) => {
    const badge = createBadge(() => {});
    for (const [name, count] of steps) badge.update(fixtures[name], count);
    return badge;
  };

  it("writes the tooltip's numbers as the kernel's, negative operands in parentheses", () => {
    const c = fixtures.grew_8;
    expect(c.baseline_score).toBeLessThan(0);
    const details = completenessDetails(c);
    expect(details).toContain(`= ${formatNumber(c.score)} − (${formatNumber(c.baseline_score)}) =`);
    expect(details).not.toMatch(/- -|− −|− -/);
  });

  const firstLine = (badge) => badge.note.firstElementChild?.textContent;

  it("says when more steps did not shrink the gap, with both gaps and step counts", () => {
    const badge = render(["grew_8", 8], ["grew_16", 16]);
    const pct = (c) => `${(Math.abs(c.relative_gap) * 100).toFixed(2)}%`;
    expect(badge.note.hidden).toBe(false);
    expect(firstLine(badge)).toBe(
      `More steps did not shrink the gap: gap ${pct(fixtures.grew_16)} at 16 steps, was ${pct(fixtures.grew_8)} at 8.`,
    );
    expect(firstLine(render(["barely_8", 8], ["barely_16", 16]))).toMatch(
      /^More steps barely shrank the gap: gap 99\.97% at 16 steps, was 99\.99% at 8\.$/,
    );
    expect(firstLine(render(["closing_16", 16], ["closing_32", 32]))).toMatch(
      /^More steps: gap 25\.08% at 32 steps, was 91\.09% at 16\.$/,
    );
  });

  it("says nothing alarming once the gap is under 1%", () => {
    const c = (relative_gap) => ({ ...fixtures.grew_8, relative_gap, diagnosis: null });
    const badge = createBadge(() => {});
    badge.update(c(0.0071), 16);
    badge.update(c(0.0065), 32);
    expect(badge.note.textContent).toBe("More steps: gap 0.65% at 32 steps, was 0.71% at 16.");
  });

  it("keeps the note when the same result is shown again, and drops it for another target or fewer steps", () => {
    const badge = render(["grew_8", 8], ["grew_16", 16], ["grew_16", 16]);
    expect(firstLine(badge)).toMatch(/did not shrink/);
    badge.update(fixtures.closing_32, 16); // another target: its own story (here no diagnosis either)
    expect(fixtures.closing_32.diagnosis).toBeNull();
    expect(badge.note.hidden).toBe(true);
    const fewer = render(["grew_16", 16], ["grew_8", 8]);
    expect(fewer.note.textContent).not.toMatch(/More steps/);
  });

  it("calls a gap within the float rounding of F(x) and F(x′) that, not incomplete, and says why", () => {
    const c = fixtures.rounding_16; // a softmax near 1.0 at both ends (tests/test_payload_precision.py)
    expect(c.within_rounding).toBe(true);
    expect(Math.abs(c.relative_gap)).toBeGreaterThan(0.05); // red "incomplete" by the share alone
    expect(Math.abs(c.gap)).toBeLessThanOrEqual(c.rounding);
    const badge = render(["rounding_16", 16]);
    expect(badge.badge.dataset.level).toBe("rounding");
    expect(badge.badge.textContent).toBe(
      `within rounding: gap ${(Math.abs(c.relative_gap) * 100).toFixed(2)}%`,
    );
    expect(firstLine(badge)).toBe(roundingNote(c));
    expect(roundingNote(c)).toContain(`the gap ${formatNumber(c.gap)} is within the float rounding`);
    expect(roundingNote(c)).toContain(`(up to ${formatNumber(c.rounding)} for scores this size)`);
    expect(badge.badge.title).toContain(
      `within the scores' float rounding (up to ${formatNumber(c.rounding)})`,
    );
    // more steps do not move it, and the note does not call that a failure
    const raised = render(["rounding_16", 16], ["rounding_32", 32]);
    expect(firstLine(raised)).toMatch(/^More steps: gap 7\.87% at 32 steps, was 8\.19% at 16\.$/);
    // the same share outside rounding stays red, and a small share stays green within rounding
    expect(gapLevel(c.relative_gap, false).level).toBe("poor");
    expect(gapLevel(0.005, true).level).toBe("good");
    expect(render(["grew_16", 16]).badge.dataset.level).toBe("poor");
  });

  it("shows the kernel's diagnosis as text under the badge", () => {
    const diagnosis = fixtures.grew_16.diagnosis;
    expect(diagnosis).not.toBeNull(); // the engine diagnoses this ReLU path (tests/test_payload_precision.py)
    const badge = render(["grew_8", 8], ["grew_16", 16]);
    const lines = [...badge.note.children].map((line) => line.textContent);
    expect(lines).toEqual([expect.stringMatching(/^More steps did not shrink the gap/), diagnosis.message]);
    expect(badge.note.dataset.kind).toBe(diagnosis.kind);
    const alone = render(["grew_16", 16]); // no comparison yet: the diagnosis alone
    expect([...alone.note.children].map((line) => line.textContent)).toEqual([diagnosis.message]);
    expect(render(["closing_32", 32]).note.hidden).toBe(true);
  });
});
