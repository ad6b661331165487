// Small labelled form controls. Every control has a visible label that is also its accessible name.

let nextId = 0;
const uniqueId = (stem) => `igw-${stem}-${++nextId}`;

/** <label> + <select>; `onChange(value)` on user choice. Returns {root, input, setValue, setOptions}. */
export function labelledSelect(labelText, options, value, onChange) {
  const root = document.createElement("span");
  root.className = "igw-control";
  const label = document.createElement("label");
  const input = document.createElement("select");
  input.id = uniqueId("select");
  label.htmlFor = input.id;
  label.textContent = labelText;
  const setOptions = (names) => {
    input.replaceChildren(
      ...names.map((name) => {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = name.replace(/_/g, " ");
        return option;
      }),
    );
  };
  setOptions(options);
  input.value = value;
  input.addEventListener("change", () => onChange(input.value));
  root.append(label, input);
  return { root, input, setValue: (v) => (input.value = v), setOptions };
}

/** <label> + <input type=range|number> with the current value shown beside a range. */
export function labelledNumber(labelText, { type = "range", min, max, step, value, format = String }, onChange) {
  const root = document.createElement("span");
  root.className = "igw-control";
  const label = document.createElement("label");
  const input = document.createElement("input");
  input.type = type;
  input.id = uniqueId(type);
  Object.assign(input, { min: String(min), max: String(max), step: String(step), value: String(value) });
  label.htmlFor = input.id;
  label.textContent = labelText;
  const shown = document.createElement("output");
  shown.htmlFor = input.id;
  const show = () => (shown.textContent = type === "range" ? format(Number(input.value)) : "");
  show();
  input.addEventListener(type === "range" ? "input" : "change", () => {
    show();
    onChange(Number(input.value));
  });
  root.append(label, input, shown);
  return {
    root,
    input,
    setValue: (v) => {
      input.value = String(v);
      show();
    },
  };
}
