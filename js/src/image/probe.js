// Where the pointer is, shown on every map at once: an outlined box over the pointed pixel (or map
// cell) of each panel, and a tooltip with the numbers beside the pointer. Both float above the layout
// (absolutely positioned), so pointing never moves anything.

const MIN_BOX_PX = 7; // a pixel of a large image is smaller than this on screen: the box stays visible

/** Put `box` over the image-pixel block [x0, x1) x [y0, y1) of `canvas` (an image of width x height). */
function placeBox(box, canvas, block, width, height) {
  const scaleX = canvas.clientWidth / width;
  const scaleY = canvas.clientHeight / height;
  const w = Math.max(MIN_BOX_PX, (block.x1 - block.x0) * scaleX);
  const h = Math.max(MIN_BOX_PX, (block.y1 - block.y0) * scaleY);
  const centreX = canvas.offsetLeft + canvas.clientLeft + ((block.x0 + block.x1) / 2) * scaleX;
  const centreY = canvas.offsetTop + canvas.clientTop + ((block.y0 + block.y1) / 2) * scaleY;
  Object.assign(box.style, {
    left: `${centreX - w / 2}px`,
    top: `${centreY - h / 2}px`,
    width: `${w}px`,
    height: `${h}px`,
  });
  box.hidden = false;
}

/**
 * The probe over `panels` ({root, canvas} each; the roots get position: relative) and a tooltip in
 * `root`. Returns {tooltip, show(block, width, height, lines, anchor), hide()}; `anchor` is
 * {clientX, clientY} of the pointer, or a canvas to sit beside (keyboard).
 */
export function createProbe(root, panels) {
  const boxes = panels.map((panel) => {
    panel.root.style.position = "relative";
    const box = document.createElement("div");
    box.className = "igw-probe";
    box.setAttribute("aria-hidden", "true");
    box.hidden = true;
    panel.root.append(box);
    return { box, canvas: panel.canvas };
  });
  const tooltip = document.createElement("div");
  tooltip.className = "igw-tooltip";
  tooltip.setAttribute("aria-hidden", "true"); // the readout line below says the same to screen readers
  tooltip.hidden = true;
  root.append(tooltip);

  return {
    tooltip,
    show(block, width, height, lines, anchor) {
      for (const { box, canvas } of boxes) placeBox(box, canvas, block, width, height);
      tooltip.replaceChildren(
        ...lines.map((line) => Object.assign(document.createElement("div"), { textContent: line })),
      );
      tooltip.hidden = false;
      const frame = root.getBoundingClientRect();
      const point =
        anchor instanceof HTMLElement
          ? (() => {
              const box = anchor.getBoundingClientRect();
              return {
                clientX: box.left + ((block.x0 + block.x1) / 2 / width) * box.width,
                clientY: box.top + ((block.y0 + block.y1) / 2 / height) * box.height,
              };
            })()
          : anchor;
      let left = point.clientX - frame.left + 16;
      if (left + tooltip.offsetWidth > root.clientWidth)
        left = Math.max(0, point.clientX - frame.left - 16 - tooltip.offsetWidth);
      tooltip.style.left = `${left}px`;
      tooltip.style.top = `${point.clientY - frame.top + 16}px`;
    },
    hide() {
      for (const { box } of boxes) box.hidden = true;
      tooltip.hidden = true;
    },
  };
}
