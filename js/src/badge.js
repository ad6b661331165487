// The completeness badge: how much of F(x) - F(x') the attributions leave unexplained. Green under
// 1 %, amber under 5 %, red above; the word beside the number says the same for those who cannot
// tell the colours apart, and the raw numbers are in the tooltip.

import { formatNumber } from "./chart.js";

/** The badge's level for a relative gap. */
export function gapLevel(relativeGap) {
  const share = Math.abs(relativeGap);
  if (share < 0.01) return { level: "good", word: "complete" };
  if (share < 0.05) return { level: "fair", word: "close" };
  return { level: "poor", word: "gap" };
}

/** Build the badge; `onMoreSteps()` is the "more steps" button. Returns {root, button, update(c)}. */
export function createBadge(onMoreSteps) {
  const root = document.createElement("div");
  root.className = "igw-badge-row";
  const badge = document.createElement("span");
  badge.className = "igw-badge";
  badge.tabIndex = 0;
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "More steps";
  button.addEventListener("click", () => onMoreSteps());
  root.append(badge, button);
  return {
    root,
    button,
    badge,
    update(completeness, steps) {
      const { level, word } = gapLevel(completeness.relative_gap);
      badge.dataset.level = level;
      badge.textContent = `${word}: gap ${(Math.abs(completeness.relative_gap) * 100).toFixed(2)}%`;
      const details =
        `Completeness: sum of attributions ${formatNumber(completeness.total)} vs ` +
        `F(x) − F(x′) = ${formatNumber(completeness.score)} − ${formatNumber(completeness.baseline_score)} = ` +
        `${formatNumber(completeness.score - completeness.baseline_score)}; gap ${formatNumber(completeness.gap)}`;
      badge.title = details;
      badge.setAttribute("aria-label", `${badge.textContent}. ${details}`);
      button.title = `Recompute with ${steps * 2} steps`;
      button.setAttribute("aria-label", `More steps: recompute with ${steps * 2} steps`);
    },
  };
}
