// The completeness badge: how much of F(x) - F(x') the attributions leave unexplained. Green under
// 1 %, amber under 5 %, red above; the word beside the number says the same for those who cannot
// tell the colours apart, and the raw numbers are in the tooltip. Below it, a note says what the last
// "More steps" did to the gap, and why the gap resists more steps when the kernel found out (the
// completeness payload's `diagnosis`), so the button never looks like it did nothing. A gap no larger
// than the float rounding of F(x) and F(x′) (`within_rounding`) reads "within rounding" in grey, with a
// note saying why, however large its share of a tiny F(x) − F(x′).
//
// A coarse preview (a slow model's first map, issue 15) carries `preview: {final_steps}` beside its
// completeness: the badge then names it a preview with its own steps and its own gap, says what replaces
// it, and keeps it out of the "More steps" comparison (nobody asked for those steps).

import { formatNumber, operand } from "./chart.js";

/** The badge's level for a relative gap; `withinRounding` (the completeness payload's `within_rounding`):
 * the gap is no larger than the float rounding of F(x) and F(x′) alone, so a large share of a tiny
 * F(x) − F(x′) is rounding noise, not a path that missed part of the score. */
export function gapLevel(relativeGap, withinRounding = false) {
  const share = Math.abs(relativeGap);
  if (share < 0.01) return { level: "good", word: "complete" };
  if (withinRounding) return { level: "rounding", word: "within rounding" };
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
    `${formatNumber(c.score - c.baseline_score)}; gap ${formatNumber(c.gap)}` +
    (c.within_rounding ? `, within the scores' float rounding (up to ${formatNumber(c.rounding)})` : "")
  );
}

/** Under a badge that reads "within rounding": why a large relative gap is not the path's fault. */
export function roundingNote(c) {
  return (
    `The score hardly changes from baseline to input (F(x) − F(x′) = ${formatNumber(c.score - c.baseline_score)}): ` +
    `the gap ${formatNumber(c.gap)} is within the float rounding of F(x) and F(x′) themselves (up to ` +
    `${formatNumber(c.rounding)} for scores this size), so its ${gapPercent(c.relative_gap)} is rounding, ` +
    "not a part of the score the attributions missed, and more steps will not move it."
  );
}

/** Whether the badge shows this completeness as nothing to worry about: complete, or within rounding. */
const settled = (c) => ["good", "rounding"].includes(gapLevel(c.relative_gap, c.within_rounding).level);

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
  if (settled(after.completeness) || now <= BARELY * was) return `More steps: ${numbers}.`; // nothing to worry about
  return now >= was
    ? `More steps did not shrink the gap: ${numbers}.`
    : `More steps barely shrank the gap: ${numbers}.`;
}

/** What the badge says under a preview at `steps` steps while the `finalSteps`-step result computes
 * (`refining`), or once the kernel stopped without it (an error). */
export function previewNote(steps, finalSteps, refining = true) {
  return refining
    ? `A quick ${steps}-step preview: refining to ${finalSteps} steps, which will replace it here.`
    : `A quick ${steps}-step preview: the ${finalSteps}-step result was not computed.`;
}

/** Build the badge; `onMoreSteps()` is the "more steps" button. Returns {root, button, badge, note,
 * update(c, steps), setStatus(status)}: the kernel's status says whether a preview is still being refined. */
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
  let lines = () => []; // the note's lines for what is shown
  let refining = true; // the kernel is computing (a preview shown is being refined)

  function showNote() {
    const shownLines = lines().filter(Boolean);
    note.replaceChildren(
      ...shownLines.map((line) => Object.assign(document.createElement("div"), { textContent: line })),
    );
    note.hidden = shownLines.length === 0;
  }

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
      const preview = completeness.preview ?? null;
      if (!preview) remember(completeness, steps);
      const { level, word } = gapLevel(completeness.relative_gap, completeness.within_rounding);
      badge.dataset.level = level;
      badge.dataset.preview = preview ? "true" : "false";
      badge.textContent = preview
        ? `preview, ${steps} steps: gap ${gapPercent(completeness.relative_gap)}`
        : `${word}: gap ${gapPercent(completeness.relative_gap)}`;
      const details = completenessDetails(completeness);
      badge.title = details;
      badge.setAttribute("aria-label", `${badge.textContent}. ${details}`);
      const more = (preview ? preview.final_steps : steps) * 2; // what the button asks for
      button.title = `Recompute with ${more} steps`;
      button.setAttribute("aria-label", `More steps: recompute with ${more} steps`);
      const compared = raised && stepsNote(raised.before, raised.after);
      lines = () => [
        preview ? previewNote(steps, preview.final_steps, refining) : compared,
        level === "rounding" ? roundingNote(completeness) : null,
        completeness.diagnosis?.message,
      ];
      showNote();
      note.dataset.kind = completeness.diagnosis?.kind ?? "";
    },
    setStatus(status) {
      refining = status === "computing";
      showNote();
    },
  };
}
