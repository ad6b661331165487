// The path chart: along alpha (true alpha on the x axis), the target score's change F(alpha) - F(x')
// (the saturation curve, dots at the recorded points) and the attributions accumulated up to alpha,
// which must meet F(x) - F(x') (dashed) at alpha = 1 if completeness holds. A cursor marks alpha.

const SVG = "http://www.w3.org/2000/svg";
const SIZE = { width: 320, height: 160, left: 40, right: 10, top: 14, bottom: 32 };

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** A number to three significant digits (two in exponent form), with a true minus sign. */
export function formatNumber(value) {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  const text =
    magnitude >= 1000 || magnitude < 0.01
      ? value.toExponential(1)
      : value.toPrecision(3).replace(/\.0+$|(\.\d*?)0+$/, "$1");
  return text.replaceAll("-", "−");
}

/** A number that may be negative, in parentheses when it is, for writing after an operator: "−(−3.64)". */
export function operand(value) {
  return value < 0 ? `(${formatNumber(value)})` : formatNumber(value);
}

/** A value decoded with at most `error` difference from the kernel's: the number alone when exact,
 * else "≈ value ± error" with the error to one digit. */
export function formatApprox(value, error) {
  if (!(error > 0)) return formatNumber(value);
  const rounded = Number(error.toPrecision(1));
  const text =
    rounded >= 1e-4 && rounded < 1e4 ? String(rounded) : rounded.toExponential(0).replace("-", "−");
  return `≈ ${formatNumber(value)} ± ${text}`;
}

/**
 * Round axis ticks covering [low, high]: steps of 1, 2 or 5 x 10^k, at most `count` + 1 of them, 0 among
 * them when the range crosses it. Labels are the tick values divided by 10^exponent, which is 0 unless
 * the ticks are very small or large; the axis then writes "× 1e<exponent>" once.
 * Returns {ticks, labels, exponent, low, high} with low/high the outer ticks.
 */
export function niceTicks(low, high, count = 5) {
  const power = 10 ** Math.floor(Math.log10((high - low) / count));
  const range = (step) => [Math.floor(low / step + 1e-9), Math.ceil(high / step - 1e-9)];
  const step = [1, 2, 5, 10, 20].map((m) => m * power).find((s) => range(s)[1] - range(s)[0] <= count);
  const [first, last] = range(step);
  const top = Math.max(Math.abs(first), Math.abs(last)) * step;
  const stepPower = Math.floor(Math.log10(step) + 1e-9);
  const exponent = top >= 1e4 || top < 1e-2 ? stepPower : 0;
  const decimals = Math.max(0, exponent - stepPower);
  const ticks = [];
  const labels = [];
  for (let k = first; k <= last; k++) {
    ticks.push(k * step);
    const label = ((k * step) / 10 ** exponent).toFixed(decimals);
    labels.push(k === 0 ? "0" : label.replace("-", "−"));
  }
  return { ticks, labels, exponent, low: first * step, high: last * step };
}

/**
 * Series of the chart from the decoded trace: points (alpha, F(alpha) - F(x')) with the two ends,
 * whose values are known exactly, and (alpha, accumulated attributions) starting at (0, 0).
 */
export function pathSeries({ alphas, scores, cumulativeTotal, score, baselineScore }) {
  const change = [[0, 0]];
  const accumulated = [[0, 0]];
  for (let i = 0; i < alphas.length; i++) {
    change.push([alphas[i], scores[i] - baselineScore]);
    accumulated.push([alphas[i], cumulativeTotal[i]]);
  }
  change.push([1, score - baselineScore]);
  change.sort((a, b) => a[0] - b[0]);
  return { change, accumulated, goal: score - baselineScore };
}

function chartKey() {
  const key = document.createElement("div");
  key.className = "igw-chart-key";
  for (const [className, text] of [
    ["igw-key-score", "F(α) − F(x′)"],
    ["igw-key-sum", "Σ attributions up to α"],
    ["igw-key-goal", "F(x) − F(x′)"],
  ]) {
    const entry = document.createElement("span");
    entry.className = className;
    entry.textContent = text;
    key.append(entry);
  }
  return key;
}

/** Build the chart; returns {root, setData(series), setCursor(alpha)}. */
export function createPathChart() {
  const root = document.createElement("figure");
  root.className = "igw-chart-box";
  const plot = svg("svg", { viewBox: `0 0 ${SIZE.width} ${SIZE.height}`, class: "igw-chart", role: "img" });
  const title = svg("title");
  const layer = svg("g");
  const cursor = svg("line", { class: "igw-cursor", y1: SIZE.top, y2: SIZE.height - SIZE.bottom });
  plot.append(title, layer, cursor);
  root.append(plot, chartKey());
  let xScale = (a) => a;

  return {
    root,
    setData(series) {
      const values = [...series.change, ...series.accumulated].map((p) => p[1]).concat([series.goal, 0]);
      let low = Math.min(...values);
      let high = Math.max(...values);
      if (!(high - low > Math.abs(high) * 1e-9))
        [low, high] = [low - (Math.abs(low) || 1), high + (Math.abs(high) || 1)];
      const axis = niceTicks(low, high);
      const plotWidth = SIZE.width - SIZE.left - SIZE.right;
      const plotHeight = SIZE.height - SIZE.top - SIZE.bottom;
      xScale = (a) => SIZE.left + a * plotWidth;
      const y = (v) => SIZE.top + (1 - (v - axis.low) / (axis.high - axis.low)) * plotHeight;
      const bottom = y(axis.low);
      const line = (points) =>
        points.map(([a, v], i) => `${i ? "L" : "M"}${xScale(a).toFixed(1)},${y(v).toFixed(1)}`).join("");
      const children = [
        svg("line", {
          class: "igw-axis",
          x1: SIZE.left,
          x2: SIZE.width - SIZE.right,
          y1: bottom,
          y2: bottom,
        }),
        svg("line", { class: "igw-axis", x1: SIZE.left, x2: SIZE.left, y1: SIZE.top, y2: bottom }),
        svg("line", {
          class: "igw-goal",
          x1: SIZE.left,
          x2: SIZE.width - SIZE.right,
          y1: y(series.goal),
          y2: y(series.goal),
        }),
        svg("path", { class: "igw-line-score", d: line(series.change) }),
        svg("path", { class: "igw-line-sum", d: line(series.accumulated) }),
      ];
      for (const [a, v] of series.change)
        children.push(svg("circle", { class: "igw-dot", cx: xScale(a), cy: y(v), r: 1.8 }));
      const label = (text, attributes) => {
        const node = svg("text", attributes);
        node.textContent = text;
        children.push(node);
      };
      for (const a of [0, 0.5, 1])
        label(String(a), { x: xScale(a), y: bottom + 12, class: "igw-tick", "text-anchor": "middle" });
      axis.ticks.forEach((v, i) => {
        children.push(
          svg("line", { class: "igw-axis", x1: SIZE.left - 3, x2: SIZE.left, y1: y(v), y2: y(v) }),
        );
        label(axis.labels[i], {
          x: SIZE.left - 5,
          y: y(v) + 3,
          class: "igw-tick igw-tick-y",
          "text-anchor": "end",
        });
      });
      if (axis.exponent)
        label(`× 1e${axis.exponent}`.replace("-", "−"), {
          x: 2,
          y: SIZE.top - 1,
          class: "igw-tick igw-axis-scale",
        });
      // near alpha 0, where the curves start at 0, away from where they meet the goal at alpha 1
      const goalY = y(series.goal);
      label(`F(x) − F(x′) = ${formatNumber(series.goal)}`, {
        x: SIZE.left + 4,
        y: goalY + (goalY < SIZE.top + 12 || Math.abs(goalY - y(0)) < 12 ? 11 : -3),
        class: "igw-tick igw-goal-value",
      });
      label("α (true position on the path)", {
        x: xScale(0.5),
        y: bottom + 26,
        class: "igw-tick",
        "text-anchor": "middle",
      });
      layer.replaceChildren(...children);
      title.textContent =
        `Score change along the path and attributions accumulated up to alpha; ` +
        `F(x) − F(x′) = ${formatNumber(series.goal)}`;
    },
    setCursor(alpha) {
      cursor.setAttribute("x1", String(xScale(alpha)));
      cursor.setAttribute("x2", String(xScale(alpha)));
    },
  };
}
