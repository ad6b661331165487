// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { createOutputList, formatScore } from "../src/outputs.js";
import { outputRows } from "./helpers.js";

const rows = (list) =>
  [...list.root.querySelectorAll(".igw-output")].map((row) => ({
    label: row.querySelector(".igw-output-label").textContent,
    value: row.querySelector(".igw-output-value").textContent,
    width: row.querySelector(".igw-bar span").style.width,
    negative: row.querySelector(".igw-bar span").classList.contains("igw-bar-negative"),
    pressed: row.getAttribute("aria-pressed"),
    title: row.title,
  }));

// The rows are the kernel's (fixtures/outputs.json, written by tests/test_schema.py with
// widgets/outputs.output_rows): a key renamed there fails here.
describe("outputs list", () => {
  it("lists class logits as softmax percentages", () => {
    const list = createOutputList(() => {});
    const given = outputRows("probability"); // cat, dog, bird from logits 4.2, 1.1, 0.3
    list.update(given, 1);
    const percent = (row) => row.probability * 100;
    expect(rows(list)).toEqual(
      given.map((row) => ({
        label: row.label,
        value: `${percent(row).toFixed(1)}%`,
        width: `${percent(row)}%`,
        negative: false,
        pressed: String(row.index === 1),
        title: `${row.label}: logit ${row.score.toFixed(3)}, probability ${percent(row).toFixed(2)}%`,
      })),
    );
    expect(rows(list).map((row) => row.value)).toEqual(["93.9%", "4.2%", "1.9%"]);
    expect(rows(list)[0].title).toBe("cat: logit 4.200, probability 93.87%");
  });

  it("treats rows without a kind (state saved before kinds) as probabilities", () => {
    const list = createOutputList(() => {});
    const [{ kind, score_name, ...saved }] = outputRows("probability");
    list.update([saved], 0);
    expect(rows(list)[0].value).toBe("93.9%");
  });

  it("lists raw scores as they are, with bars against the largest magnitude and negatives marked", () => {
    const list = createOutputList(() => {});
    list.update(outputRows("score"), 0); // similarities 0.62, 0.155, -0.31, listed by score
    const shown = rows(list);
    expect(shown.map((row) => row.label)).toEqual(["a great film", "a sunny day", "cold weather"]);
    expect(shown.map((row) => row.value)).toEqual(["0.62", "0.155", "-0.31"]);
    expect(shown.map((row) => Number.parseFloat(row.width))).toEqual([
      100,
      expect.closeTo(25, 5),
      expect.closeTo(50, 5),
    ]);
    expect(shown.map((row) => row.negative)).toEqual([false, false, true]);
    expect(shown.every((row) => !row.value.includes("%"))).toBe(true);
    expect(shown[0].title).toBe("a great film: score 0.620000");
  });

  it("draws empty bars when every score is zero, and clicking a row chooses it", () => {
    const chosen = [];
    const list = createOutputList((index) => chosen.push(index));
    const [zero] = outputRows("zero");
    list.update([zero], zero.index);
    expect(rows(list)[0]).toMatchObject({ value: "0", width: "0%" });
    list.root.querySelector(".igw-output").click();
    expect(chosen).toEqual([zero.index]);
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

/** Rows of class logits with these probabilities, labelled by index. */
const logitRows = (probabilities) =>
  probabilities.map((probability, index) => ({
    index,
    label: String(index),
    score: Math.log(probability),
    probability,
    kind: "probability",
    score_name: "logit",
  }));

describe("outputs list when probabilities saturate", () => {
  it("shows the logits, and says so, where a probability prints as 100.0%", () => {
    const list = createOutputList(() => {});
    const given = outputRows("saturated"); // logits 21.5 and 9.25
    list.update(given, given[0].index);
    expect(rows(list).map((row) => row.value)).toEqual(["21.5", "9.25"]);
    expect(list.root.querySelector(".igw-outputs-scale").textContent).toMatch(
      /logits: as percentages these outputs print alike/,
    );
    expect(list.root.querySelector(".igw-outputs-scale").hidden).toBe(false);
    const small = (given[1].probability * 100).toExponential(2);
    expect(rows(list)[1].title).toBe(`one: logit 9.250, probability ${small}%`);
    expect(small).toBe("4.79e-4");
    expect(rows(list)[0].width).toBe(`${given[0].probability * 100}%`);
  });

  it("names log-probabilities for a language model's next tokens", () => {
    const list = createOutputList(() => {});
    const given = outputRows("log_probability"); // log-probabilities -0.0004 and -8.2
    list.update(given, given[0].index);
    expect(rows(list).map((row) => row.value)).toEqual(["-4.00e-4", "-8.2"]);
    expect(list.root.querySelector(".igw-outputs-scale").textContent).toMatch(/log-probabilities/);
  });

  it("shows a softmax model's own probabilities as its scores, named as probabilities", () => {
    const list = createOutputList(() => {});
    const given = [
      {
        index: 0,
        label: "zero",
        score: 0.99998,
        probability: 0.99998,
        kind: "probability",
        score_name: "probability",
      },
      {
        index: 1,
        label: "one",
        score: 0.00002,
        probability: 0.00002,
        kind: "probability",
        score_name: "probability",
      },
    ];
    list.update(given, 0);
    expect(rows(list).map((row) => row.value)).toEqual(["1", "2.00e-5"]);
    expect(list.root.querySelector(".igw-outputs-scale").textContent).toBe(
      "Numbers are probabilities: as percentages these outputs print alike",
    );
    expect(rows(list)[1].title).toBe("one: probability 2.00e-3%"); // not "logit 0.000, probability ..."
  });

  it("shows the logits where two outputs print the same percentage (two 0.0%)", () => {
    const list = createOutputList(() => {});
    const given = logitRows([0.691, 0.305, 0.0041, 0.0002, 0.0001]);
    list.update(given, 0);
    expect(rows(list).map((row) => row.value)).toEqual(given.map((row) => formatScore(row.score)));
    expect(list.root.querySelector(".igw-outputs-scale").hidden).toBe(false);
  });

  it("keeps percentages where one output alone prints 0.0% below distinct ones", () => {
    const list = createOutputList(() => {});
    const given = logitRows([0.691, 0.301, 0.0061, 0.0018, 0.0001]);
    list.update(given, 0);
    expect(rows(list).map((row) => row.value)).toEqual(["69.1%", "30.1%", "0.6%", "0.2%", "0.0%"]);
    expect(list.root.querySelector(".igw-outputs-scale").hidden).toBe(true);
    expect(rows(list)[4].title).toBe("4: logit -9.210, probability 0.01%");
  });

  it("keeps percentages, with no caption, while they tell the outputs apart", () => {
    const list = createOutputList(() => {});
    const given = outputRows("probability");
    list.update(given, given[0].index);
    expect(rows(list)[0].value).toBe("93.9%");
    expect(list.root.querySelector(".igw-outputs-scale").hidden).toBe(true);
  });
});

describe("outputs a page cannot answer", () => {
  it("disables them, with the reason in the tooltip; the shown target stays enabled", () => {
    const list = createOutputList(() => {});
    list.update(outputRows("probability"), 0, (index) => index === 2, "needs a kernel");
    const buttons = [...list.root.querySelectorAll(".igw-output")];
    expect(buttons.map((b) => b.disabled)).toEqual([false, true, false]);
    expect(buttons[1].title).toMatch(/\(needs a kernel\)$/);
  });
});
