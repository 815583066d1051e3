// A Vega-Lite chart drawn live and offline: hand-written ESM loaded by anywidget (_chart.py).
// No build step, nothing fetched from the network, and the Vega libraries (~900 KB) never in the
// widget's state, which holds the chart's spec and SVG picture (both gzipped) only. A page without
// `vegaEmbed` asks the kernel for the libraries with a custom message; the kernel answers with a
// custom message (never saved), and one promise on globalThis shares them with every chart of the
// page. Until then, and for good where no kernel answers (a notebook reopened with its saved
// widget state), a chart shows its picture.

const KEY = Symbol.for("twibox_nb.vega");
const ASK_EVERY_MS = 4000; // a page asks at most this often; a chart still waiting asks again later
const ASKS_PER_CHART = 6; // at 0, 4, 12, 28, 60 and 124 s: a chart restored without a kernel gives up

function page() {
  let shared = globalThis[KEY];
  if (!shared) {
    let resolve;
    const ready = new Promise((r) => (resolve = r));
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    shared = { id, ready, askedAt: -Infinity, loading: false, embed: null };
    shared.settle = (embed) => {
      shared.embed = embed; // read synchronously by charts drawn from now on: no picture shown first
      resolve(embed);
    };
    globalThis[KEY] = shared;
  }
  if (!shared.loading && typeof globalThis.vegaEmbed === "function") {
    shared.loading = true; // another output (the "html" renderer) loaded Vega already
    shared.settle(globalThis.vegaEmbed);
  }
  return shared;
}

async function gunzip(buffer) {
  const stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).blob();
}

async function loadVega(buffer) {
  // the bundle ends with `window.vegaEmbed = …`; as a module its own names stay in its scope
  const url = URL.createObjectURL(new Blob([buffer], { type: "text/javascript" }));
  try {
    await import(/* webpackIgnore: true */ url);
  } finally {
    URL.revokeObjectURL(url);
  }
  if (typeof globalThis.vegaEmbed !== "function") throw new Error("the bundle defined no vegaEmbed");
  return globalThis.vegaEmbed;
}

function initialize({ model }) {
  const onMessage = (message, buffers) => {
    if (!message || message.type !== "vega-bundle" || !buffers || !buffers.length) return;
    const shared = page();
    if (shared.loading) return; // an earlier answer is loading or loaded
    shared.loading = true;
    loadVega(buffers[0]).then(shared.settle, (error) => {
      shared.loading = false;
      console.error("twibox_nb: the Vega libraries sent by the kernel did not load", error);
    });
  };
  model.on("msg:custom", onMessage);
  return () => model.off("msg:custom", onMessage);
}

function showPicture(model, el) {
  const picture = model.get("picture");
  const box = document.createElement("div");
  box.className = "twibox-vega-picture";
  if (!picture || !picture.byteLength) {
    box.textContent = `${model.get("alt") || "Chart"}: drawn when the kernel sends the Vega libraries`;
    box.style.cssText = "color:#57606a;font-style:italic;padding:4px 0";
    el.append(box);
    return box;
  }
  const img = document.createElement("img");
  img.alt = model.get("alt") || "Chart";
  img.style.maxWidth = "100%";
  box.append(img);
  el.append(box);
  gunzip(picture)
    .then((svg) => {
      const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
      img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
      img.src = url;
    })
    .catch((error) => console.error("twibox_nb: the chart's picture did not decode", error));
  return box;
}

function render({ model, el }) {
  const shared = page();
  const target = document.createElement("div");
  el.append(target);
  let alive = true;
  let timer = null;
  let result = null;
  const picture = shared.embed ? null : showPicture(model, el);
  let asks = 0;
  const ask = () => {
    timer = null;
    if (!alive || shared.loading || asks >= ASKS_PER_CHART) return;
    const now = Date.now();
    if (now - shared.askedAt >= ASK_EVERY_MS) {
      shared.askedAt = now;
      model.send({ type: "vega-bundle?", page: shared.id });
    }
    timer = setTimeout(ask, ASK_EVERY_MS * 2 ** asks++);
  };
  if (!shared.embed) ask();
  Promise.all([shared.ready, gunzip(model.get("spec")).then((blob) => blob.text())])
    .then(async ([embed, text]) => {
      if (!alive) return;
      const drawn = await embed(target, JSON.parse(text), { ...model.get("options") });
      if (!alive) return drawn.finalize();
      result = drawn;
      if (picture) picture.remove();
    })
    .catch((error) => console.error("twibox_nb: the chart did not draw", error));
  return () => {
    alive = false;
    if (timer !== null) clearTimeout(timer);
    if (result) result.finalize(); // stops the Vega view: its timers and window/document listeners
    // Drop the drawing too, not just stop it. JupyterLab 4.6 keeps every closed widget model
    // reachable (its comm handler stays connected to the kernel's statusChanged signal), a model
    // keeps the last view it made (ipywidgets' `state_change` promise), and anywidget keeps this
    // cleanup, so the removed view, its `el` and this closure outlive it: without these lines each
    // re-run left the old chart's SVG (~1,000 nodes and Vega's scenegraph, ~1 MB) in the heap.
    result = null;
    target.replaceChildren();
    el.replaceChildren();
  };
}

export default { initialize, render };
