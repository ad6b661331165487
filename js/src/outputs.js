// The model's top outputs as a bar list. Each row is a button: choosing it makes that class the
// target. Labels come from the model's owner and are set as text, never as HTML.

/** Build the list; `onSelect(index)` on click. Returns {root, update(outputs, target)}. */
export function createOutputList(onSelect) {
  const root = document.createElement("div");
  root.className = "igw-outputs";
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "Model outputs: choose the class to explain");
  return {
    root,
    update(outputs, target) {
      const rows = outputs.map((output) => {
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
        fill.style.width = `${Math.max(0, Math.min(1, output.probability)) * 100}%`;
        bar.append(fill);
        const value = document.createElement("span");
        value.className = "igw-output-value";
        value.textContent = `${(output.probability * 100).toFixed(1)}%`;
        row.title = `${output.label}: logit ${output.score.toFixed(3)}, probability ${(output.probability * 100).toFixed(2)}%`;
        row.append(name, bar, value);
        row.addEventListener("click", () => onSelect(output.index));
        return row;
      });
      root.replaceChildren(...rows);
    },
  };
}
