// The MetricBuilder's JSONata editor: a textarea over a highlighted copy of its text; and, below,
// the button that copies code to the clipboard.
// Hand-written ESM loaded by anywidget: no build step, nothing fetched. The kernel owns the
// text (`value`) and, after a failed compile, the error's character offset (`error_position`,
// -1 for none), which is underlined in red. `draft` follows every keystroke (debounced), so the
// kernel can say "Customised" and mark the preview stale before the text is sent on blur.

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

function renderEditor({ model, el }) {
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
  let timer = null;
  area.addEventListener("input", () => {
    model.set("error_position", -1); // the text changed: the old error no longer points anywhere
    paint();
    clearTimeout(timer);
    timer = setTimeout(() => { model.set("draft", area.value); model.save_changes(); }, 150);
  });
  area.addEventListener("change", () => { clearTimeout(timer); model.set("draft", area.value); send(); }); // on blur, like ipywidgets' Textarea(continuous_update=False)
  area.addEventListener("scroll", () => { pre.scrollTop = area.scrollTop; });
  const lock = () => { area.readOnly = Boolean(model.get("disabled")); };
  model.on("change:value", load);
  model.on("change:error_position", paint);
  model.on("change:disabled", lock);
  load();
  lock();
  return () => {
    clearTimeout(timer);
    model.off("change:value", load);
    model.off("change:error_position", paint);
    model.off("change:disabled", lock);
  };
}

// The copy button (CopyButton, `_role` "copy"): puts the widget's `text` on the clipboard with the
// browser's Clipboard API. The outcome is shown next to the button and sent back as `status`
// ("copied", or why not), so the kernel knows too.

const COPY_STYLE = `
.twibox-copy { display: inline-flex; gap: 8px; align-items: center; font-size: 13px; }
.twibox-copy button { padding: 3px 12px; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa;
  cursor: pointer; font: inherit; }
.twibox-copy button:disabled { cursor: default; opacity: 0.6; }
.twibox-copy-ok { color: #1a7f37; } .twibox-copy-failed { color: #9a6700; }
`;

// Why the browser will not copy, in the user's terms (null when it should).
function obstacle() {
  if (!window.isSecureContext) {
    return "Not copied: the browser only allows copying on pages served over https or from localhost. Select the lines and press Ctrl+C (⌘C).";
  }
  if (!navigator.clipboard || !navigator.clipboard.writeText) {
    return "Not copied: this browser has no clipboard access. Select the lines and press Ctrl+C (⌘C).";
  }
  return null;
}

function renderCopy({ model, el }) {
  const style = document.createElement("style");
  style.textContent = COPY_STYLE;
  const box = document.createElement("span");
  box.className = "twibox-copy";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "twibox-copy-button";
  const said = document.createElement("span");
  said.className = "twibox-copy-status";
  said.setAttribute("role", "status");
  box.append(button, said);
  el.append(style, box);

  const report = (ok, words) => {
    said.textContent = words;
    said.className = `twibox-copy-status ${ok ? "twibox-copy-ok" : "twibox-copy-failed"}`;
    model.set("status", ok ? "copied" : words);
    model.save_changes();
  };
  const show = () => {
    button.textContent = model.get("label");
    button.disabled = Boolean(model.get("disabled")) || !model.get("text");
    said.textContent = "";
  };
  button.addEventListener("click", async () => {
    const why = obstacle();
    if (why) return report(false, why);
    try {
      await navigator.clipboard.writeText(model.get("text"));
      report(true, "Copied");
    } catch (error) {
      report(false, `Not copied: the browser refused (${error && error.name ? error.name : error}). Select the lines and press Ctrl+C (⌘C).`);
    }
  });
  model.on("change:text", show);
  model.on("change:label", show);
  model.on("change:disabled", show);
  show();
  return () => {
    model.off("change:text", show);
    model.off("change:label", show);
    model.off("change:disabled", show);
  };
}

// One module for both widgets: the copy button says so by its `_role`.
function render(context) {
  return context.model.get("_role") === "copy" ? renderCopy(context) : renderEditor(context);
}

export default { render };
