// A strip of coloured tokens laid out as the text reads (wrapping like text, so long inputs stay
// readable). Token strings are data: each is set with textContent, never parsed as HTML.
// Colours are drawn over the strip's own background: a value well inside the clip is the palette's
// colour, and one near zero fades into the background, so on a dark theme it recedes instead of
// glowing white (the palette's middle).

import { lutFor, lutIndex } from "../colormaps.js";
import { signed } from "../normalise.js";
import { textColourOn } from "./units.js";

// Values under this share of the clip fade into the background, in proportion; from it on they are
// the palette's colour, as the legend shows it.
export const FADE_BELOW = 0.5;
const WHITE = [255, 255, 255];

/** Background and text colour of a value under a clip and sign mode, over a `behind` RGB colour. */
export function unitColours(value, clip, sign, behind = WHITE) {
  const low = sign === "both" ? -1 : 0;
  const normalised = Math.max(low, Math.min(1, signed(value, sign) / clip));
  const lut = lutFor(sign);
  const k = lutIndex(normalised, sign) * 3;
  const opacity = Math.min(1, Math.abs(normalised) / FADE_BELOW);
  const [red, green, blue] = [0, 1, 2].map((c) => Math.round(behind[c] + (lut[k + c] - behind[c]) * opacity));
  return { background: `rgb(${red}, ${green}, ${blue})`, foreground: textColourOn(red, green, blue) };
}

/** The RGB colour a strip is drawn over: the first opaque background at or above `node` (white if none). */
export function backgroundBehind(node) {
  for (let at = node; at instanceof Element; at = at.parentElement) {
    const match = getComputedStyle(at).backgroundColor.match(/rgba?\(([^)]+)\)/);
    if (!match) continue;
    const [red, green, blue, alpha = 1] = match[1]
      .split(/[,\s/]+/)
      .filter(Boolean)
      .map(Number);
    if (alpha > 0) return [red, green, blue];
  }
  return WHITE;
}

/** Build a strip; `name` goes to data-strip. Returns {root, spans, setUnits(units), paint(values, clip,
 * sign, describe), point(u), markNext(u, text)} where `point` outlines unit u (null: none). */
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
      const behind = backgroundBehind(root);
      for (let u = 0; u < spans.length; u++) {
        const { background, foreground } = unitColours(values[u], clip, sign, behind);
        spans[u].style.backgroundColor = background;
        spans[u].style.color = foreground;
        if (describe) spans[u].title = describe(u);
      }
    },
    point(unit) {
      spans.forEach((span, u) => span.classList.toggle("igw-token-pointed", u === unit));
    },
    /** For a language model: mark unit `unit` as where the explained `next` token is predicted, show
     * that token after it, and dim the units after it (the prediction does not see them); null: none. */
    markNext(unit, next) {
      root.querySelector(".igw-token-next")?.remove();
      spans.forEach((span, u) => {
        span.classList.toggle("igw-token-position", u === unit);
        span.classList.toggle("igw-token-after", unit !== null && u > unit);
      });
      if (unit === null || !spans[unit]) return;
      const shown = document.createElement("span");
      shown.className = "igw-token-next";
      shown.textContent = next;
      shown.title = "the next token explained: the model's prediction after the marked token";
      spans[unit].after(shown);
    },
  };
}
