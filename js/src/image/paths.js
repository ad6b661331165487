// The path method control of the image view: which path the attributions integrate along (the choices
// come from the kernel: `choices.path`) and whether IDGI is applied, two-way with the `path` and `idgi`
// traits. Blur IG starts from the blurred input, so the baseline does not apply to it; Guided IG is its
// own left Riemann sum, so the rule does not apply to it: those controls are disabled, saying why.

import { labelledSelect, uniqueId } from "../controls.js";
import { staticPage } from "../frame.js";

/** A labelled checkbox; `onChange(checked)` on user change. */
function labelledCheckbox(labelText, checked, onChange) {
  const root = document.createElement("span");
  root.className = "igw-control";
  const input = document.createElement("input");
  input.type = "checkbox";
  input.id = uniqueId("checkbox");
  input.checked = checked;
  const label = document.createElement("label");
  label.htmlFor = input.id;
  label.textContent = labelText;
  input.addEventListener("change", () => onChange(input.checked));
  root.append(input, label);
  return {
    root,
    input,
    setValue: (v) => (input.checked = v),
    setDisabled: (disabled, reason = "") => {
      input.disabled = disabled;
      root.title = disabled ? reason : "";
    },
  };
}

/** The path select and the IDGI checkbox; `settings` maps "baseline"/"rule" to their control roots so
 * that a setting the chosen path ignores is disabled with the reason. Returns the elements to show. */
export function pathMethodControls(model, { on, send, onRefused }, settings) {
  const choices = model.get("choices")?.path;
  if (!choices) return []; // a kernel without path methods
  const path = labelledSelect("Path", choices, model.get("path"), (v) => send("path", v));
  const idgi = labelledCheckbox("IDGI", model.get("idgi"), (v) => send("idgi", v));
  idgi.root.title =
    "IDGI keeps only each gradient's component along the score's direction; its gap is zero by construction";
  const page = staticPage(model);
  const showUnused = () => {
    const unused = model.get("choices")?.unused?.[model.get("path")] || {}; // from the kernel: what each path ignores
    for (const [name, root] of Object.entries(settings)) {
      const select = root?.querySelector("select");
      if (!select || page) continue;
      select.disabled = Boolean(unused[name]);
      root.title = unused[name] || "";
    }
  };
  if (page) {
    // an exported page holds results for the path it was saved on only
    path.setDisabled(true, page.note);
    idgi.setDisabled(true, page.note);
  }
  on("change:path", () => (path.setValue(model.get("path")), showUnused()));
  on("change:idgi", () => idgi.setValue(model.get("idgi")));
  on("change:choices", () => {
    const next = model.get("choices")?.path;
    if (next) path.setOptions(next);
    path.setValue(model.get("path"));
  });
  onRefused("path", (message) => {
    path.setValue(model.get("path"));
    path.setNote(message);
  });
  showUnused();
  return [path.root, idgi.root];
}
