// The path chart: along alpha (true alpha on the x axis), the target score's change F(alpha) - F(x')
// (the saturation curve, dots at the recorded points) and the attributions accumulated up to alpha,
// which must meet F(x) - F(x') (dashed) at alpha = 1 if completeness holds. A cursor marks alpha.

const SVG = "http://www.w3.org/2000/svg";
const SIZE = { width: 320, height: 160, left: 46, right: 10, top: 10, bottom: 32 };

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** Round, short tick label. */
export function formatNumber(value) {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 1000 || magnitude < 0.01 ? value.toExponential(1) : value.toPrecision(3).replace(/\.?0+$/, "");
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
    ["igw-key-score", "F(α) − F(x′)"], ["igw-key-sum", "Σ attributions up to α"], ["igw-key-goal", "F(x) − F(x′)"],
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
      if (high - low < 1e-12) high = low + 1;
      const plotWidth = SIZE.width - SIZE.left - SIZE.right;
      const plotHeight = SIZE.height - SIZE.top - SIZE.bottom;
      xScale = (a) => SIZE.left + a * plotWidth;
      const y = (v) => SIZE.top + (1 - (v - low) / (high - low)) * plotHeight;
      const line = (points) => points.map(([a, v], i) => `${i ? "L" : "M"}${xScale(a).toFixed(1)},${y(v).toFixed(1)}`).join("");
      const children = [
        svg("line", { class: "igw-axis", x1: SIZE.left, x2: SIZE.width - SIZE.right, y1: y(low), y2: y(low) }),
        svg("line", { class: "igw-axis", x1: SIZE.left, x2: SIZE.left, y1: SIZE.top, y2: y(low) }),
        svg("line", { class: "igw-goal", x1: SIZE.left, x2: SIZE.width - SIZE.right, y1: y(series.goal), y2: y(series.goal) }),
        svg("path", { class: "igw-line-score", d: line(series.change) }),
        svg("path", { class: "igw-line-sum", d: line(series.accumulated) }),
      ];
      for (const [a, v] of series.change) children.push(svg("circle", { class: "igw-dot", cx: xScale(a), cy: y(v), r: 1.8 }));
      const label = (text, attributes) => {
        const node = svg("text", attributes);
        node.textContent = text;
        children.push(node);
      };
      for (const a of [0, 0.5, 1]) label(String(a), { x: xScale(a), y: y(low) + 12, class: "igw-tick", "text-anchor": "middle" });
      for (const v of [low, high]) label(formatNumber(v), { x: SIZE.left - 4, y: y(v) + 3, class: "igw-tick", "text-anchor": "end" });
      label("α (true position on the path)", { x: xScale(0.5), y: y(low) + 26, class: "igw-tick", "text-anchor": "middle" });
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
