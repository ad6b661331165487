// Decoding the text widget's `result` payload (ig_widget/widgets/text.py) once per result.

import { decodeExplanation } from "../decode.js";

/** Everything the text view draws from; null for an empty or non-text result. */
export function decodeTextResult(payload) {
  if (payload?.kind !== "text") return null;
  return {
    ...decodeExplanation(payload),
    task: payload.task,
    position: payload.position ?? null, // a language model's explained position (its next token is the target)
    output: payload.output,
    tokens: payload.tokens,
    special: payload.special,
    spaceBefore: payload.space_before,
    words: payload.words,
    wordTexts: payload.word_texts,
    count: payload.tokens.length,
  };
}
