// What the text view shows as one coloured unit: a token, or a word made of consecutive tokens
// (its value is the sum of its tokens' values, so the units still add up to F(x) - F(x')). The
// granularities offered come from the kernel (`choices.granularity`, ig_widget/schema.py).

/**
 * The units of a decoded result: {texts, spaceBefore, special, groups}, where groups[u] is the
 * token range [start, stop) of unit u.
 */
export function displayUnits(result, granularity) {
  if (granularity === "words" && result.words && result.words.length) {
    return {
      texts: result.wordTexts,
      spaceBefore: result.words.map(([start]) => result.spaceBefore[start]),
      special: result.words.map(([start]) => result.special[start]),
      groups: result.words,
    };
  }
  return {
    texts: result.tokens,
    spaceBefore: result.spaceBefore,
    special: result.special,
    groups: result.tokens.map((_, i) => [i, i + 1]),
  };
}

/** Per-unit sums of values[offset + token] over each unit's tokens (offset selects a trace step). */
export function unitValues(values, groups, offset = 0) {
  const out = new Float32Array(groups.length);
  for (let u = 0; u < groups.length; u++) {
    let sum = 0;
    for (let t = groups[u][0]; t < groups[u][1]; t++) sum += values[offset + t];
    out[u] = sum;
  }
  return out;
}

/** Per-unit values at every trace step, [steps * units], for one clip over the whole path. */
export function unitTrace(values, groups, steps, tokenCount) {
  const out = new Float32Array(steps * groups.length);
  for (let s = 0; s < steps; s++) out.set(unitValues(values, groups, s * tokenCount), s * groups.length);
  return out;
}

/** Black or white text, whichever reads better on an RGB background (relative luminance). */
export function textColourOn(red, green, blue) {
  const linear = (c) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue);
  return luminance > 0.3 ? "#000" : "#fff";
}

/** How unit `u` is named in a tooltip or readout: its text, or for an empty piece of a character that a
 * byte-level tokenizer split (the kernel gives the character's text to the piece that completes it),
 * "part of “😀”" after the character it belongs to. */
export function unitName(texts, u) {
  if (texts[u] !== "") return texts[u];
  const whole = texts.slice(u + 1).find((text) => text !== "");
  return whole === undefined ? "(empty)" : `part of “${whole}”`;
}
