// The completeness badge: how much of F(x) - F(x') the attributions leave unexplained. Green under
// 1 %, amber under 5 %, red above; the word beside the number says the same for those who cannot
// tell the colours apart, and the raw numbers are in the tooltip. Below it, a note says what the last
// "More steps" did to the gap, and why the gap resists more steps when the kernel found out (the
// completeness payload's `diagnosis`), so the button never looks like it did nothing.

import { formatNumber, operand } from "./chart.js";

/** The badge's level for a relative gap. */
export function gapLevel(relativeGap) {
  const share = Math.abs(relativeGap);
  if (share < 0.01) return { level: "good", word: "complete" };
  if (share < 0.05) return { level: "fair", word: "close" };
  return { level: "poor", word: "incomplete" }; // not "gap": the badge reads "<word>: gap 6.24%"
}

/** A relative gap as the badge prints it. */
export function gapPercent(relativeGap) {
  return `${(Math.abs(relativeGap) * 100).toFixed(2)}%`;
}

/** The tooltip: the sum of attributions against F(x) − F(x′), every number as the kernel holds it. */
export function completenessDetails(c) {
  return (
    `Completeness: sum of attributions ${formatNumber(c.total)} vs ` +
    `F(x) − F(x′) = ${formatNumber(c.score)} − ${operand(c.baseline_score)} = ` +
    `${formatNumber(c.score - c.baseline_score)}; gap ${formatNumber(c.gap)}`
  );
}

const close = (a, b) => Math.abs(a - b) <= 1e-6 * Math.max(Math.abs(a), Math.abs(b), 1e-30);

/** Same target and baseline: F(x) and F(x′) do not depend on the rule or the steps. */
function sameEnds(a, b) {
  return close(a.score, b.score) && close(a.baseline_score, b.baseline_score);
}

// Doubling the steps halves the gap of the slowest rule (left/right Riemann sums, error ~ 1/steps) and
// quarters it for the others: a gap that keeps more than this share did not converge as it should.
const BARELY = 0.75;

/** What raising the steps from `before` to `after` ({completeness, steps}) did to the gap, as a sentence. */
export function stepsNote(before, after) {
  const was = Math.abs(before.completeness.relative_gap);
  const now = Math.abs(after.completeness.relative_gap);
  const numbers = `gap ${gapPercent(now)} at ${after.steps} steps, was ${gapPercent(was)} at ${before.steps}`;
  if (gapLevel(now).level === "good" || now <= BARELY * was) return `More steps: ${numbers}.`; // nothing to worry about
  return now >= was
    ? `More steps did not shrink the gap: ${numbers}.`
    : `More steps barely shrank the gap: ${numbers}.`;
}

/** Build the badge; `onMoreSteps()` is the "more steps" button. Returns {root, button, badge, note, update(c, steps)}. */
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
  const note = document.createElement("div");
  note.className = "igw-badge-note";
  note.setAttribute("aria-live", "polite");
  root.append(badge, button, note);

  let shown = null; // the last {completeness, steps} shown
  let raised = null; // {before, after} when the steps were raised for the same target and baseline

  function remember(completeness, steps) {
    const next = { completeness, steps };
    if (!shown || !sameEnds(shown.completeness, completeness)) raised = null;
    else if (steps > shown.steps) raised = { before: shown, after: next };
    else if (
      steps !== shown.steps ||
      !raised ||
      !close(raised.after.completeness.relative_gap, completeness.relative_gap)
    ) {
      raised = null; // fewer steps, or another rule at the same steps: the comparison no longer describes this result
    }
    shown = next;
  }

  return {
    root,
    button,
    badge,
    note,
    update(completeness, steps) {
      remember(completeness, steps);
      const { level, word } = gapLevel(completeness.relative_gap);
      badge.dataset.level = level;
      badge.textContent = `${word}: gap ${gapPercent(completeness.relative_gap)}`;
      const details = completenessDetails(completeness);
      badge.title = details;
      badge.setAttribute("aria-label", `${badge.textContent}. ${details}`);
      button.title = `Recompute with ${steps * 2} steps`;
      button.setAttribute("aria-label", `More steps: recompute with ${steps * 2} steps`);
      const lines = [
        raised && stepsNote(raised.before, raised.after),
        completeness.diagnosis?.message,
      ].filter(Boolean);
      note.replaceChildren(
        ...lines.map((line) => Object.assign(document.createElement("div"), { textContent: line })),
      );
      note.hidden = lines.length === 0;
      note.dataset.kind = completeness.diagnosis?.kind ?? "";
    },
  };
}
