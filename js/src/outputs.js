// The model's top outputs as a bar list. Each row is a button: choosing it makes that class the
// target. Labels come from the model's owner and are set as text, never as HTML.
// A row's `kind` says what its score is: "probability" (class logits: the bar and number show the
// softmax probability) or "score" (similarities, regression values: the number is the raw score and
// the bar its size against the largest listed score). Rows without a kind are probabilities.
// Where the printed percentages no longer tell the listed outputs apart (one prints 100.0%, or two
// print the same, as two 0.0% do), the numbers are the scores themselves (the row's `score_name`:
// logits, log-probabilities, or the probabilities a softmax inside the model gave, which the list shows
// as they are), and a caption says so; the bars still show the probabilities. A lone
// 0.0% below distinct percentages keeps them (a confident model's fifth output: 69.1%, 30.2%, 0.4%,
// 0.2%, 0.0% reads better than five logits).

const SCORE_NAMES = { logit: "logits", "log-probability": "log-probabilities", probability: "probabilities" };

/** Build the list; `onSelect(index)` on click. Returns {root, update(outputs, target, available, note)}:
 * where `available(index)` is false the row is disabled and its tooltip ends with `note`. */
export function createOutputList(onSelect) {
  const root = document.createElement("div");
  root.className = "igw-outputs";
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "Model outputs: choose the class to explain");
  const caption = document.createElement("div");
  caption.className = "igw-outputs-scale";
  const rowsBox = document.createElement("div");
  rowsBox.className = "igw-outputs-rows";
  root.append(caption, rowsBox);
  return {
    root,
    update(outputs, target, available = () => true, note = "") {
      const largest = Math.max(0, ...outputs.filter(isRawScore).map((output) => Math.abs(output.score)));
      const probable = outputs.filter((output) => !isRawScore(output));
      const scores = !tellApart(probable.map((output) => percent(output.probability)));
      const scoreName = SCORE_NAMES[probable[0]?.score_name] ?? SCORE_NAMES.logit;
      caption.textContent = scores
        ? `Numbers are ${scoreName}: as percentages these outputs print alike`
        : "";
      caption.hidden = !scores;
      const rows = outputs.map((output) => {
        const shown = isRawScore(output) ? rawScoreRow(output, largest) : probabilityRow(output, scores);
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
        if (output.index !== target && !available(output.index)) {
          row.disabled = true;
          row.title += ` (${note})`;
        }
        row.append(name, bar, value);
        row.addEventListener("click", () => onSelect(output.index));
        return row;
      });
      rowsBox.replaceChildren(...rows);
    },
  };
}

function isRawScore(output) {
  return output.kind === "score";
}

/** A probability as the list prints it. */
function percent(probability) {
  return `${(probability * 100).toFixed(1)}%`;
}

/** Whether printed percentages tell their outputs apart: none is 100.0%, and no two are the same. */
function tellApart(printed) {
  return !printed.includes("100.0%") && new Set(printed).size === printed.length;
}

function probabilityRow(output, showScore) {
  const name = output.score_name ?? "logit";
  return {
    fraction: output.probability,
    negative: false,
    text: showScore ? formatScore(output.score) : percent(output.probability),
    detail:
      name === "probability" // a softmax inside the model: the score is the probability
        ? `probability ${formatProbability(output.probability)}`
        : `${name} ${output.score.toFixed(3)}, probability ${formatProbability(output.probability)}`,
  };
}

/** A probability as a percentage with two decimals, or in exponent notation where that would read 0.00%. */
function formatProbability(probability) {
  const percent = probability * 100;
  return percent !== 0 && Math.abs(percent) < 0.005
    ? `${percent.toExponential(2)}%`
    : `${percent.toFixed(2)}%`;
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
