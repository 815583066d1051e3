// The MetricBuilder's JSONata editor: a textarea over a highlighted copy of its text.
// Hand-written ESM loaded by anywidget: no build step, nothing fetched. The kernel owns the
// text (`value`) and, after a failed compile, the error's character offset (`error_position`,
// -1 for none), which is underlined in red.

const STYLE = `
.twibox-code { position: relative; width: 720px; font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace; }
.twibox-code pre, .twibox-code textarea {
  margin: 0; padding: 6px 8px; border: 1px solid #d0d7de; border-radius: 6px; box-sizing: border-box;
  width: 100%; min-height: 6.5em; font: inherit; white-space: pre-wrap; overflow-wrap: anywhere; tab-size: 2;
}
.twibox-code pre { position: absolute; inset: 0; pointer-events: none; background: #f6f8fa; overflow: hidden; color: #1f2328; }
.twibox-code textarea { position: relative; resize: vertical; background: transparent; color: transparent;
  caret-color: #1f2328; outline: none; }
.twibox-code textarea:focus { border-color: #0969da; box-shadow: 0 0 0 2px #0969da33; }
.twibox-tok-string { color: #0a3069; } .twibox-tok-number { color: #953800; } .twibox-tok-var { color: #8250df; }
.twibox-tok-keyword { color: #cf222e; } .twibox-tok-comment { color: #6e7781; font-style: italic; }
.twibox-tok-name { color: #0550ae; } .twibox-tok-error { text-decoration: underline wavy #cf222e; background: #ffebe9; }
`;

// One pass over the text; each token becomes a span whose class says what it is.
const TOKENS = /(\/\*[\s\S]*?\*\/)|("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)|(\$[A-Za-z0-9_]*)|(\b\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b)|(\b(?:and|or|in|true|false|null|function)\b)|(`[^`]*`?|[A-Za-z_][A-Za-z0-9_]*)/g;
const KINDS = ["comment", "string", "var", "number", "keyword", "name"];

function escape(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function highlight(text, errorAt) {
  let html = "";
  let last = 0;
  const mark = (from, to) => {
    // plain text between tokens, with the error position (if inside) underlined
    let chunk = "";
    for (let i = from; i < to; i++) {
      const ch = escape(text[i]);
      chunk += i === errorAt ? `<span class="twibox-tok-error">${ch}</span>` : ch;
    }
    return chunk;
  };
  for (const match of text.matchAll(TOKENS)) {
    html += mark(last, match.index);
    const kind = KINDS[match.slice(1).findIndex((group) => group !== undefined)];
    const end = match.index + match[0].length;
    const inner = mark(match.index, end);
    html += `<span class="twibox-tok-${kind}">${inner}</span>`;
    last = end;
  }
  html += mark(last, text.length);
  if (errorAt >= text.length) html += `<span class="twibox-tok-error"> </span>`;
  return html + "\n";
}

function render({ model, el }) {
  const style = document.createElement("style");
  style.textContent = STYLE;
  const box = document.createElement("div");
  box.className = "twibox-code";
  const pre = document.createElement("pre");
  pre.setAttribute("aria-hidden", "true");
  const area = document.createElement("textarea");
  area.spellcheck = false;
  area.setAttribute("aria-label", "JSONata expression");
  box.append(pre, area);
  el.append(style, box);

  const paint = () => {
    pre.innerHTML = highlight(area.value, model.get("error_position"));
    pre.scrollTop = area.scrollTop;
  };
  const load = () => {
    if (area.value !== model.get("value")) area.value = model.get("value");
    paint();
  };
  const send = () => {
    model.set("value", area.value);
    model.save_changes();
  };
  area.addEventListener("input", () => {
    model.set("error_position", -1); // the text changed: the old error no longer points anywhere
    paint();
  });
  area.addEventListener("change", send); // on blur, like ipywidgets' Textarea(continuous_update=False)
  area.addEventListener("scroll", () => { pre.scrollTop = area.scrollTop; });
  const lock = () => { area.readOnly = Boolean(model.get("disabled")); };
  model.on("change:value", load);
  model.on("change:error_position", paint);
  model.on("change:disabled", lock);
  load();
  lock();
  return () => {
    model.off("change:value", load);
    model.off("change:error_position", paint);
    model.off("change:disabled", lock);
  };
}

export default { render };
