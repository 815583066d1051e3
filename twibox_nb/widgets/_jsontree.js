// The response tree of the MetricBuilder, clickable: hand-written ESM loaded by anywidget.
// No build step and nothing fetched: the tree's HTML comes from Python (_jsontree.py), this
// module shows it and, while a step accepts picks, sends the clicked field's path back as the
// `picked` traitlet (the kernel decides whether the field can be used, and resets `picked`).

const STYLE = `
.twibox-json-pickable .twibox-json-leaf[data-field]:hover,
.twibox-json-pickable details[data-field]:not([data-field=""]) > summary > .twibox-json-key:hover {
  background: #ddf4ff; outline: 1px solid #54aeff; border-radius: 3px; cursor: pointer;
}`;

function fieldOf(target, root) {
  const leaf = target.closest(".twibox-json-leaf[data-field]");
  if (leaf && root.contains(leaf)) return leaf.getAttribute("data-field");
  const key = target.closest("summary > .twibox-json-key");
  if (!key || !root.contains(key)) return null;
  const node = key.parentElement.parentElement;
  return node.hasAttribute("data-field") ? node.getAttribute("data-field") : null;
}

function render({ model, el }) {
  const style = document.createElement("style");
  style.textContent = STYLE;
  const body = document.createElement("div");
  el.append(style, body);
  const draw = () => {
    body.innerHTML = model.get("value");
  };
  const mark = () => {
    el.classList.toggle("twibox-json-pickable", Boolean(model.get("pickable")));
  };
  el.addEventListener("click", (event) => {
    if (!model.get("pickable")) return;
    const field = fieldOf(event.target, body);
    if (!field) return; // outside a record, or the record itself
    event.preventDefault(); // a field's key picks it instead of folding its node
    model.set("picked", field);
    model.save_changes();
  });
  model.on("change:value", draw);
  model.on("change:pickable", mark);
  draw();
  mark();
  return () => {
    model.off("change:value", draw);
    model.off("change:pickable", mark);
  };
}

export default { render };
