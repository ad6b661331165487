// The model's top outputs as a bar list. Each row is a button: choosing it makes that class the
// target. Labels come from the model's owner and are set as text, never as HTML.
// A row's `kind` says what its score is: "probability" (class logits: the bar and number show the
// softmax probability) or "score" (similarities, regression values: the number is the raw score and
// the bar its size against the largest listed score). Rows without a kind are probabilities.

/** Build the list; `onSelect(index)` on click. Returns {root, update(outputs, target)}. */
export function createOutputList(onSelect) {
  const root = document.createElement("div");
  root.className = "igw-outputs";
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "Model outputs: choose the class to explain");
  return {
    root,
    update(outputs, target) {
      const largest = Math.max(0, ...outputs.filter(isRawScore).map((output) => Math.abs(output.score)));
      const rows = outputs.map((output) => {
        const shown = isRawScore(output) ? rawScoreRow(output, largest) : probabilityRow(output);
        const row = document.createElement("button");
        row.type = "button";
        row.className = "igw-output";
        row.dataset.index = String(output.index);
        row.setAttribute("aria-pressed", String(output.index === target));
        const name = document.createElement("span");
        name.className = "igw-output-label";
        name.textContent = output.label;
        const bar = document.createElement("span");
        bar.className = "igw-bar";
        const fill = document.createElement("span");
        fill.style.width = `${Math.max(0, Math.min(1, shown.fraction)) * 100}%`;
        if (shown.negative) fill.className = "igw-bar-negative";
        bar.append(fill);
        const value = document.createElement("span");
        value.className = "igw-output-value";
        value.textContent = shown.text;
        row.title = `${output.label}: ${shown.detail}`;
        row.append(name, bar, value);
        row.addEventListener("click", () => onSelect(output.index));
        return row;
      });
      root.replaceChildren(...rows);
    },
  };
}

function isRawScore(output) {
  return output.kind === "score";
}

function probabilityRow(output) {
  return {
    fraction: output.probability,
    negative: false,
    text: `${(output.probability * 100).toFixed(1)}%`,
    detail: `logit ${output.score.toFixed(3)}, probability ${(output.probability * 100).toFixed(2)}%`,
  };
}

function rawScoreRow(output, largest) {
  return {
    fraction: largest > 0 ? Math.abs(output.score) / largest : 0,
    negative: output.score < 0,
    text: formatScore(output.score),
    detail: `score ${output.score.toPrecision(6)}`,
  };
}

/** Three significant digits, without exponent notation for everyday magnitudes: 0.62, -0.0513, 1230. */
export function formatScore(value) {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) return value.toExponential(2);
  return String(Number(value.toPrecision(3)));
}
