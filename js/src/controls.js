// Small labelled form controls. Every control has a visible label that is also its accessible name,
// and a note beside it for a change that was refused (by the kernel, or by a page without one).

// Ids must be unique on the page: several widgets share a page, each from its own copy of this module
// (anywidget imports each widget's bundle from its own Blob URL), so a counter alone would repeat.
const pagePrefix = `igw-${Math.random().toString(36).slice(2, 10)}`;
let nextId = 0;
export const uniqueId = (stem) => `${pagePrefix}-${stem}-${++nextId}`;

/** The label, the note and their wrapper shared by every control. */
function controlParts(labelText, input) {
  const root = document.createElement("span");
  root.className = "igw-control";
  const label = document.createElement("label");
  label.htmlFor = input.id;
  label.textContent = labelText;
  const note = document.createElement("span");
  note.className = "igw-control-note";
  note.setAttribute("role", "status");
  note.hidden = true;
  /** Show `text` beside the control (a refusal); "" hides it. */
  const setNote = (text) => {
    note.textContent = text;
    note.hidden = !text;
  };
  /** Disable the control where it has no effect, saying why in its tooltip. */
  const setDisabled = (disabled, reason = "") => {
    input.disabled = disabled;
    root.title = disabled ? reason : "";
  };
  return { root, label, note, setNote, setDisabled };
}

/** <label> + <select>; `onChange(value)` on user choice. Returns {root, input, setValue, setOptions, setNote, setDisabled}. */
export function labelledSelect(labelText, options, value, onChange) {
  const input = document.createElement("select");
  input.id = uniqueId("select");
  const { root, label, note, setNote, setDisabled } = controlParts(labelText, input);
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
  input.addEventListener("change", () => {
    setNote("");
    onChange(input.value);
  });
  root.append(label, input, note);
  return { root, input, setValue: (v) => (input.value = v), setOptions, setNote, setDisabled };
}

/** <label> + <input type=range|number> with the current value shown beside a range. */
export function labelledNumber(
  labelText,
  { type = "range", min, max, step, value, format = String },
  onChange,
) {
  const input = document.createElement("input");
  input.type = type;
  input.id = uniqueId(type);
  const limits = { min, max, step, value };
  for (const [name, limit] of Object.entries(limits)) if (limit !== undefined) input[name] = String(limit);
  const { root, label, note, setNote, setDisabled } = controlParts(labelText, input);
  const shown = document.createElement("output");
  shown.htmlFor = input.id;
  const show = () => (shown.textContent = type === "range" ? format(Number(input.value)) : "");
  show();
  let committed = input.value; // the last value sent or received: each value goes out once
  const commit = () => {
    if (input.value === committed) return;
    committed = input.value;
    setNote("");
    show();
    onChange(Number(input.value));
  };
  input.addEventListener(type === "range" ? "input" : "change", commit);
  // Enter commits a typed number (in JupyterLab the key never becomes a change event)
  input.addEventListener("keydown", (event) => event.key === "Enter" && commit());
  root.append(label, input, shown, note);
  return {
    root,
    input,
    setValue: (v) => {
      input.value = String(v);
      committed = input.value;
      show();
    },
    /** The accepted range, as the kernel sends it. */
    setLimits: ({ min: low, max: high }) => Object.assign(input, { min: String(low), max: String(high) }),
    setNote,
    setDisabled,
  };
}
