// Decoding the generation widget's `result` payload (ig_widget/widgets/generation.py,
// generation_payload) once per result, and reading one row of it.

import { decodeArray, errorOf } from "../decode.js";

/** Everything the generation view draws from; null for an empty or other result. */
export function decodeGenerationResult(payload) {
  if (payload?.kind !== "generation") return null;
  const count = payload.tokens.length;
  const hasRows = payload.rows.length > 0;
  const result = {
    tokens: payload.tokens,
    special: payload.special,
    spaceBefore: payload.tokens.map(() => false), // each token's text carries its own whitespace
    words: payload.words,
    wordTexts: payload.word_texts,
    count,
    promptLength: payload.prompt_length,
    generated: payload.generated,
    alternatives: payload.alternatives,
    chosenLogProbabilities: payload.chosen_log_probabilities,
    chosenTokens: payload.chosen_tokens,
    matrixKind: payload.matrix_kind,
    matrixScoreName: payload.matrix_score_name,
    rows: payload.rows,
    complete: payload.complete,
    computing: payload.computing,
    baseline: payload.baseline,
    rule: payload.rule,
    steps: payload.steps,
    targetKinds: payload.target_kinds,
    scales: payload.scales,
    granularities: payload.granularities,
    matrix: hasRows ? decodeArray(payload.matrix).values : new Float32Array(0),
    rowCompleteness: payload.row_completeness ?? [],
    alphas: hasRows ? decodeArray(payload.alphas).values : new Float32Array(0),
    traceScores: hasRows ? decodeArray(payload.trace_scores).values : new Float32Array(0),
    traceCumulative: hasRows ? decodeArray(payload.trace_cumulative).values : new Float32Array(0),
    cumulativeError: hasRows ? errorOf(payload.trace_cumulative) : () => 0,
    contrast: null,
  };
  const c = payload.contrast;
  if (c) {
    result.contrast = {
      row: c.row,
      alternative: c.alternative,
      alternativeLabel: c.alternative_label,
      attributions: decodeArray(c.attributions).values,
      completeness: c.completeness,
      alphas: decodeArray(c.alphas).values,
      traceScores: decodeArray(c.trace_scores).values,
      traceCumulative: decodeArray(c.trace_cumulative).values,
      cumulativeError: errorOf(c.trace_cumulative),
    };
  }
  return result;
}

/** The token index (in `tokens`) of generated token `row`. */
export function tokenOfRow(result, row) {
  return result.promptLength + row;
}

/** The matrix row holding generated token `row`, -1 while it is not computed yet. */
export function matrixRowOf(result, row) {
  return result.rows.indexOf(row);
}

/**
 * What the strip, badge and path show for generated token `row`: the contrast when `contrast` is asked
 * for and computed for this row, else its matrix row. {values [count], completeness, steps, alphas,
 * scores [steps], cumulative [steps * count], cumulativeTotal [steps], errorAt(i), contrast} or null
 * while that row is not computed.
 */
export function rowView(result, row, contrast) {
  if (!result) return null;
  const count = result.count;
  if (contrast && result.contrast && result.contrast.row === row) {
    const c = result.contrast;
    return withTotals({
      values: c.attributions,
      completeness: c.completeness,
      steps: result.steps,
      alphas: c.alphas,
      scores: c.traceScores,
      cumulative: c.traceCumulative,
      errorAt: c.cumulativeError,
      count,
      contrast: { alternative: c.alternative, label: c.alternativeLabel },
    });
  }
  const r = matrixRowOf(result, row);
  if (r < 0) return null;
  const steps = result.alphas.length;
  return withTotals({
    values: result.matrix.subarray(r * count, (r + 1) * count),
    completeness: result.rowCompleteness[r],
    steps: result.steps,
    alphas: result.alphas,
    scores: result.traceScores.subarray(r * steps, (r + 1) * steps),
    cumulative: result.traceCumulative.subarray(r * steps * count, (r + 1) * steps * count),
    errorAt: (i) => result.cumulativeError(r * steps * count + i),
    count,
    contrast: null,
  });
}

function withTotals(view) {
  const steps = view.alphas.length;
  const totals = new Float32Array(steps);
  for (let s = 0; s < steps; s++) {
    let sum = 0;
    for (let t = 0; t < view.count; t++) sum += view.cumulative[s * view.count + t];
    totals[s] = sum;
  }
  return { ...view, cumulativeTotal: totals };
}
