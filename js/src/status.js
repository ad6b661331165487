// The compute status line: a progress bar while the kernel works, the kernel's error as text, and a
// notice when the model has changed since the shown results were computed (with a Recompute button).

/** Build it; `onRecompute` is called by the notice's button (null: no button, see below).
 * Returns {root, update({status, progress, error, modelChanged})}. */
export function createStatusLine(onRecompute = null) {
  const root = document.createElement("div");
  root.className = "igw-status";
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.setAttribute("aria-label", "computing attributions");
  const text = document.createElement("span");
  text.setAttribute("aria-live", "polite");
  const error = document.createElement("div");
  error.className = "igw-error";
  error.setAttribute("role", "alert");
  const changed = createModelChangedNotice(onRecompute);
  root.append(bar, text, error, changed.root);
  return {
    root,
    update({ status, progress, error: message, modelChanged = false }) {
      root.dataset.status = status;
      bar.hidden = status !== "computing";
      bar.value = progress;
      text.textContent = status === "computing" ? `computing… ${Math.round(progress * 100)}%` : "";
      error.hidden = status !== "error" || !message;
      error.textContent = status === "error" ? message : "";
      changed.update(modelChanged);
    },
  };
}

/** What the Recompute button does for `model`: ask the kernel to catch up (`FollowsModel.refresh`); null
 * on a saved page (`page`, from staticPage), which has no kernel. */
export function recomputeFor(model, page) {
  return page ? null : () => model.send({ type: "refresh" });
}

/** The notice that the model has changed since the shown results were computed, with a Recompute button
 * that calls `onRecompute` (disabled until the kernel answers); no button when `onRecompute` is null (a
 * saved page: no kernel to recompute, the notice still true of its maps). Returns {root, update(changed)}. */
export function createModelChangedNotice(onRecompute) {
  const root = document.createElement("div");
  root.className = "igw-model-changed";
  root.setAttribute("role", "status");
  root.append("The model has changed since these results were computed: they show its earlier weights. ");
  const recompute = document.createElement("button");
  recompute.type = "button";
  recompute.textContent = "Recompute";
  recompute.addEventListener("click", () => {
    recompute.disabled = true;
    onRecompute();
  });
  if (onRecompute) root.append(recompute);
  return {
    root,
    update(modelChanged) {
      root.hidden = !modelChanged;
      recompute.disabled = false;
    },
  };
}
