// A strip of coloured tokens laid out as the text reads (wrapping like text, so long inputs stay
// readable). Token strings are data: each is set with textContent, never parsed as HTML.

import { lutFor, lutIndex } from "../colormaps.js";
import { signed } from "../normalise.js";
import { textColourOn } from "./units.js";

/** Background and text colour of a value under a clip and sign mode. */
export function unitColours(value, clip, sign) {
  const low = sign === "both" ? -1 : 0;
  const normalised = Math.max(low, Math.min(1, signed(value, sign) / clip));
  const lut = lutFor(sign);
  const k = lutIndex(normalised, sign) * 3;
  const [red, green, blue] = [lut[k], lut[k + 1], lut[k + 2]];
  return { background: `rgb(${red}, ${green}, ${blue})`, foreground: textColourOn(red, green, blue) };
}

/** Build a strip; `name` goes to data-strip. Returns {root, spans, setUnits(units), paint(values, clip, sign)}. */
export function createTokenStrip(name, focusable = false) {
  const root = document.createElement("div");
  root.className = "igw-tokens";
  root.dataset.strip = name;
  let spans = [];
  return {
    root,
    get spans() {
      return spans;
    },
    setUnits(units) {
      const children = [];
      spans = units.texts.map((text, u) => {
        if (u > 0 && units.spaceBefore[u]) children.push(document.createTextNode(" "));
        const span = document.createElement("span");
        span.className = units.special[u] ? "igw-token igw-token-special" : "igw-token";
        span.dataset.index = String(u);
        span.textContent = text;
        if (focusable) span.tabIndex = 0;
        children.push(span);
        return span;
      });
      root.replaceChildren(...children);
    },
    paint(values, clip, sign, describe) {
      for (let u = 0; u < spans.length; u++) {
        const { background, foreground } = unitColours(values[u], clip, sign);
        spans[u].style.backgroundColor = background;
        spans[u].style.color = foreground;
        if (describe) spans[u].title = describe(u);
      }
    },
  };
}
