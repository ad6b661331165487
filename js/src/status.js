// The compute status line: a progress bar while the kernel works, and the kernel's error as text.

/** Build it; returns {root, update({status, progress, error})}. */
export function createStatusLine() {
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
  root.append(bar, text, error);
  return {
    root,
    update({ status, progress, error: message }) {
      root.dataset.status = status;
      bar.hidden = status !== "computing";
      bar.value = progress;
      text.textContent = status === "computing" ? `computing… ${Math.round(progress * 100)}%` : "";
      error.hidden = status !== "error" || !message;
      error.textContent = status === "error" ? message : "";
    },
  };
}
