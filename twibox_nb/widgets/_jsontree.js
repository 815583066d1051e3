// The response tree of the MetricBuilder, clickable: hand-written ESM loaded by anywidget.
// No build step and nothing fetched: the tree's HTML comes from Python (_jsontree.py), this
// module shows it and, while a step accepts picks, sends the clicked field's path back as the
// `picked` traitlet (the kernel decides whether the field can be used, and resets `picked`).
// The tree is bounded: "… N more not shown" markers stand for what was left out. When the kernel
// holds the body (`expandable`), each marker gets a "show more" button that asks the kernel for
// the next items with a custom message; the answer (a message, never state) replaces the marker.

const STYLE = `
.twibox-json-pickable .twibox-json-leaf[data-field]:hover,
.twibox-json-pickable details[data-field]:not([data-field=""]) > summary > .twibox-json-key:hover {
  background: #ddf4ff; outline: 1px solid #54aeff; border-radius: 3px; cursor: pointer;
}
.twibox-json-more-button { margin-left: 0.6em; font: inherit; font-size: 11px; cursor: pointer;
  border: 1px solid #d0d7de; border-radius: 4px; background: #fff; color: #0550ae; padding: 0 6px; }`;

function fieldOf(target, root) {
  const leaf = target.closest(".twibox-json-leaf[data-field]");
  if (leaf && root.contains(leaf)) return leaf.getAttribute("data-field");
  const key = target.closest("summary > .twibox-json-key");
  if (!key || !root.contains(key)) return null;
  const node = key.parentElement.parentElement;
  return node.hasAttribute("data-field") ? node.getAttribute("data-field") : null;
}

function addButtons(root) {
  for (const marker of root.querySelectorAll(".twibox-json-more[data-more]:not(.twibox-json-asking)")) {
    if (marker.querySelector(".twibox-json-more-button")) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "twibox-json-more-button";
    button.textContent = "show more";
    marker.append(button);
  }
}

function render({ model, el }) {
  const style = document.createElement("style");
  style.textContent = STYLE;
  const body = document.createElement("div");
  el.append(style, body);
  const asked = new Map(); // ask id -> the marker its answer replaces
  let asks = 0;
  const draw = () => {
    asked.clear();
    body.innerHTML = model.get("value");
    if (model.get("expandable")) addButtons(body);
  };
  const mark = () => {
    el.classList.toggle("twibox-json-pickable", Boolean(model.get("pickable")));
  };
  const onMessage = (message) => {
    if (!message || message.type !== "more" || !asked.has(message.ask)) return;
    const marker = asked.get(message.ask);
    asked.delete(message.ask);
    if (!marker.isConnected) return;
    if (!message.html) {
      marker.classList.remove("twibox-json-asking");
      marker.querySelector(".twibox-json-more-button")?.remove();
      return;
    }
    const template = document.createElement("template");
    template.innerHTML = message.html;
    const parent = marker.parentElement;
    marker.replaceWith(template.content);
    addButtons(parent);
  };
  const onClick = (event) => {
    const button = event.target.closest(".twibox-json-more-button");
    if (button && body.contains(button)) {
      const marker = button.parentElement;
      const ask = `${++asks}`;
      asked.set(ask, marker);
      marker.classList.add("twibox-json-asking");
      button.disabled = true;
      const steps = JSON.parse(marker.getAttribute("data-more"));
      model.send({ type: "more", steps, from: Number(marker.getAttribute("data-from")), ask });
      return;
    }
    if (!model.get("pickable")) return;
    const field = fieldOf(event.target, body);
    if (!field) return; // outside a record, or the record itself
    event.preventDefault(); // a field's key picks it instead of folding its node
    model.set("picked", field);
    model.save_changes();
  };
  el.addEventListener("click", onClick);
  model.on("change:value", draw);
  model.on("change:expandable", draw);
  model.on("change:pickable", mark);
  model.on("msg:custom", onMessage);
  draw();
  mark();
  return () => {
    model.off("change:value", draw);
    model.off("change:expandable", draw);
    model.off("change:pickable", mark);
    model.off("msg:custom", onMessage);
    el.removeEventListener("click", onClick);
    // Empty the removed view as well. JupyterLab 4.6 keeps every closed widget model reachable
    // (its comm handler stays connected to the kernel's statusChanged signal), a model keeps the
    // last view it made (ipywidgets' `state_change` promise) and anywidget keeps this cleanup, so
    // without this each re-run of a builder left its old response tree (thousands of nodes) behind.
    asked.clear();
    body.replaceChildren();
    el.replaceChildren();
  };
}

function initialize({ model }) {
  // A closed tree drops its HTML (up to ~100 KB of state) from the page's copy of its model:
  // JupyterLab 4.6 keeps every closed widget model reachable (see the end of render), so without
  // this each re-run of a builder kept its old response tree's HTML. Set twice: Backbone keeps the
  // attributes from before the latest set() in `_previousAttributes`.
  model.on("destroy", () => {
    try {
      model.set("value", "");
      model.set("value", "");
    } catch (error) {
      console.debug("twibox_nb: a closed response tree kept its HTML", error);
    }
  });
}

export default { initialize, render };
