// Entry point bundled into ig_widget/static/widget.js and loaded by anywidget.
function render({ model, el }) {
  el.textContent = "ig-widget";
  return () => {};
}

export default { render };
