// The alpha slider: walks the recorded path points from the baseline (alpha 0) to the input (1).
// It snaps to the recorded points but places them at their true alpha, not at their index:
// Gauss-Legendre points bunch near 0 and 1, and an index scale would hide that. Tick marks under
// the track show where the points lie. Arrow keys step one point, Home/End jump to the ends.

const PLAY_INTERVAL_MS = 120;

/** Index of the alpha nearest to `value`. */
export function nearestIndex(alphas, value) {
  let best = 0;
  for (let i = 1; i < alphas.length; i++)
    if (Math.abs(alphas[i] - value) < Math.abs(alphas[best] - value)) best = i;
  return best;
}

/** Build the slider; `onIndex(i)` is called whenever the shown point changes. */
export function createAlphaSlider(onIndex) {
  const root = document.createElement("div");
  root.className = "igw-slider";
  const play = document.createElement("button");
  play.type = "button";
  play.className = "igw-play";
  const track = document.createElement("div");
  track.className = "igw-track";
  const input = document.createElement("input");
  input.type = "range";
  Object.assign(input, { min: "0", max: "1", step: "any", value: "1" });
  input.setAttribute("aria-label", "alpha: position on the path from baseline (0) to input (1)");
  const ticks = document.createElement("div");
  ticks.className = "igw-ticks";
  ticks.setAttribute("aria-hidden", "true");
  const readout = document.createElement("output");
  readout.className = "igw-alpha";
  track.append(input, ticks);
  root.append(play, track, readout);

  let alphas = new Float32Array([1]);
  let index = 0;
  let timer = null;

  const show = (i, notify = true) => {
    index = Math.max(0, Math.min(alphas.length - 1, i));
    input.value = String(alphas[index]);
    const text = `α = ${alphas[index].toFixed(3)} (point ${index + 1} of ${alphas.length})`;
    readout.textContent = text;
    input.setAttribute("aria-valuetext", text);
    if (notify) onIndex(index);
  };
  const stop = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.textContent = "▶ Play";
    play.setAttribute("aria-label", "play the path from baseline to input");
  };
  const start = () => {
    if (index >= alphas.length - 1) show(0);
    timer = setInterval(() => (index >= alphas.length - 1 ? stop() : show(index + 1)), PLAY_INTERVAL_MS);
    play.textContent = "❚❚ Pause";
    play.setAttribute("aria-label", "pause the path animation");
  };
  stop();

  input.addEventListener("input", () => show(nearestIndex(alphas, Number(input.value))));
  input.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -5, PageUp: 5 };
    if (event.key in moves) show(index + moves[event.key]);
    else if (event.key === "Home") show(0);
    else if (event.key === "End") show(alphas.length - 1);
    else return;
    event.preventDefault();
  });
  play.addEventListener("click", () => (timer === null ? start() : stop()));

  return {
    root,
    input,
    play,
    /** New path points; keeps the position nearest to the current alpha, at the input by default. */
    setAlphas(next, keepAlpha = true) {
      const previous = alphas[index];
      alphas = next;
      ticks.replaceChildren(
        ...Array.from(next, (alpha) => {
          const tick = document.createElement("span");
          tick.style.left = `${alpha * 100}%`;
          return tick;
        }),
      );
      show(keepAlpha ? nearestIndex(next, previous) : next.length - 1, false);
    },
    setIndex: (i) => show(i),
    get index() {
      return index;
    },
    destroy: stop,
  };
}
