// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { createOutputList, formatScore } from "../src/outputs.js";

const rows = (list) =>
  [...list.root.querySelectorAll(".igw-output")].map((row) => ({
    label: row.querySelector(".igw-output-label").textContent,
    value: row.querySelector(".igw-output-value").textContent,
    width: row.querySelector(".igw-bar span").style.width,
    negative: row.querySelector(".igw-bar span").classList.contains("igw-bar-negative"),
    pressed: row.getAttribute("aria-pressed"),
    title: row.title,
  }));

describe("outputs list", () => {
  it("lists class logits as softmax percentages", () => {
    const list = createOutputList(() => {});
    list.update(
      [
        { index: 3, label: "cat", score: 4.2, probability: 0.75, kind: "probability" },
        { index: 1, label: "dog", score: 1.1, probability: 0.25, kind: "probability" },
      ],
      1,
    );
    expect(rows(list)).toEqual([
      {
        label: "cat",
        value: "75.0%",
        width: "75%",
        negative: false,
        pressed: "false",
        title: "cat: logit 4.200, probability 75.00%",
      },
      {
        label: "dog",
        value: "25.0%",
        width: "25%",
        negative: false,
        pressed: "true",
        title: "dog: logit 1.100, probability 25.00%",
      },
    ]);
  });

  it("treats rows without a kind (state saved before kinds) as probabilities", () => {
    const list = createOutputList(() => {});
    list.update([{ index: 0, label: "a", score: 2, probability: 0.6 }], 0);
    expect(rows(list)[0].value).toBe("60.0%");
  });

  it("lists raw scores as they are, with bars against the largest magnitude and negatives marked", () => {
    const list = createOutputList(() => {});
    list.update(
      [
        { index: 0, label: "a great film", score: 0.62, kind: "score" },
        { index: 2, label: "a sunny day", score: 0.155, kind: "score" },
        { index: 1, label: "cold weather", score: -0.31, kind: "score" },
      ],
      0,
    );
    const shown = rows(list);
    expect(shown.map((row) => row.value)).toEqual(["0.62", "0.155", "-0.31"]);
    expect(shown.map((row) => row.width)).toEqual(["100%", "25%", "50%"]);
    expect(shown.map((row) => row.negative)).toEqual([false, false, true]);
    expect(shown.every((row) => !row.value.includes("%"))).toBe(true);
    expect(shown[0].title).toBe("a great film: score 0.620000");
  });

  it("draws empty bars when every score is zero, and clicking a row chooses it", () => {
    const chosen = [];
    const list = createOutputList((index) => chosen.push(index));
    list.update([{ index: 5, label: "zero", score: 0, kind: "score" }], 5);
    expect(rows(list)[0]).toMatchObject({ value: "0", width: "0%" });
    list.root.querySelector(".igw-output").click();
    expect(chosen).toEqual([5]);
  });

  it("formats scores with three significant digits", () => {
    expect([0.6234, -0.05128, 1234.5, 12, 0.00001234, 2.5e7].map(formatScore)).toEqual([
      "0.623",
      "-0.0513",
      "1230",
      "12",
      "1.23e-5",
      "2.50e+7",
    ]);
  });
});

describe("outputs list when probabilities saturate", () => {
  it("shows the logits, and says so, where a probability prints as 100.0% or 0.0%", () => {
    const list = createOutputList(() => {});
    list.update(
      [
        {
          index: 7,
          label: "seven",
          score: 21.5,
          probability: 0.99999,
          kind: "probability",
          score_name: "logit",
        },
        {
          index: 1,
          label: "one",
          score: 9.25,
          probability: 0.0000061,
          kind: "probability",
          score_name: "logit",
        },
      ],
      7,
    );
    expect(rows(list).map((row) => row.value)).toEqual(["21.5", "9.25"]);
    expect(list.root.querySelector(".igw-outputs-scale").textContent).toMatch(/logits.*100%/);
    expect(list.root.querySelector(".igw-outputs-scale").hidden).toBe(false);
    expect(rows(list)[1].title).toBe("one: logit 9.250, probability 6.10e-4%");
    expect(rows(list)[0].width).toBe(`${0.99999 * 100}%`);
  });

  it("names log-probabilities for a language model's next tokens", () => {
    const list = createOutputList(() => {});
    list.update(
      [
        {
          index: 3,
          label: "park",
          score: -0.0004,
          probability: 0.9996,
          kind: "probability",
          score_name: "log-probability",
        },
        {
          index: 9,
          label: "zoo",
          score: -8.2,
          probability: 0.00027,
          kind: "probability",
          score_name: "log-probability",
        },
      ],
      3,
    );
    expect(rows(list).map((row) => row.value)).toEqual(["-4.00e-4", "-8.2"]);
    expect(list.root.querySelector(".igw-outputs-scale").textContent).toMatch(/log-probabilities/);
  });

  it("keeps percentages, with no caption, while they tell the outputs apart", () => {
    const list = createOutputList(() => {});
    list.update(
      [{ index: 0, label: "a", score: 2, probability: 0.6, kind: "probability", score_name: "logit" }],
      0,
    );
    expect(rows(list)[0].value).toBe("60.0%");
    expect(list.root.querySelector(".igw-outputs-scale").hidden).toBe(true);
  });
});

describe("outputs a page cannot answer", () => {
  it("disables them, with the reason in the tooltip; the shown target stays enabled", () => {
    const list = createOutputList(() => {});
    list.update(
      [
        { index: 0, label: "a", score: 2, probability: 0.6 },
        { index: 1, label: "b", score: 1, probability: 0.3 },
        { index: 2, label: "c", score: 0, probability: 0.1 },
      ],
      0,
      (index) => index === 2,
      "needs a kernel",
    );
    const buttons = [...list.root.querySelectorAll(".igw-output")];
    expect(buttons.map((b) => b.disabled)).toEqual([false, true, false]);
    expect(buttons[1].title).toMatch(/\(needs a kernel\)$/);
  });
});
