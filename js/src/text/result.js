// Decoding the text widget's `result` payload (ig_widget/widgets/text.py) once per result.

import { decodeArray } from "../decode.js";

/** Everything the text view draws from; null for an empty or non-text result. */
export function decodeTextResult(payload) {
  if (!payload || payload.kind !== "text") return null;
  const trace = payload.trace;
  return {
    task: payload.task,
    targetLabel: payload.target_label,
    output: payload.output,
    steps: payload.steps,
    tokens: payload.tokens,
    special: payload.special,
    spaceBefore: payload.space_before,
    words: payload.words,
    wordTexts: payload.word_texts,
    count: payload.tokens.length,
    attributions: decodeArray(payload.attributions).values,
    completeness: payload.completeness,
    alphas: decodeArray(trace.alphas).values,
    scores: decodeArray(trace.scores).values,
    gradients: decodeArray(trace.gradients).values,
    cumulative: decodeArray(trace.cumulative).values,
    cumulativeTotal: decodeArray(trace.cumulative_total).values,
  };
}
