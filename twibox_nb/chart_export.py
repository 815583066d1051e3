"""Charts to files without a browser (vl-convert), and offline rendering in notebooks.

vl-convert embeds Vega, Vega-Lite and a JavaScript engine, so PNG, SVG and self-contained HTML
come out of a plain Python process: no browser, no network. Files are written atomically (a
reader sees the old file or the new one). Altair's default notebook renderer loads Vega from a
CDN; :func:`enable_offline_rendering` switches to one that carries the libraries inline. Nothing
here runs at import time.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, Literal

from ._files import atomic_write_bytes

Format = Literal["png", "svg", "html", "json"]
FORMATS: tuple[str, ...] = ("png", "svg", "html", "json")
# vega-embed's default actions link to the online Vega editor; an offline file keeps only exports
_EMBED_OPTIONS = '{"renderer":"svg"}'
_OFFLINE_OPTIONS = '{"renderer":"svg","actions":{"export":true,"source":false,"compiled":false,"editor":false}}'


def _spec(chart: Any) -> dict[str, Any]:
    """A Vega-Lite spec from an Altair chart (or a spec already)."""
    if isinstance(chart, dict):
        return chart
    to_dict = getattr(chart, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"expected an Altair chart or a Vega-Lite dict, got {type(chart).__name__}")
    return to_dict()


@cache
def _vl_version() -> str | None:
    """The Vega-Lite version Altair writes, when vl-convert has it (else vl-convert's newest)."""
    import altair as alt
    import vl_convert as vlc

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    known = getattr(vlc, "get_vegalite_versions", list)()
    return wanted if wanted in known else None


def to_png(chart: Any, *, scale: float = 2.0) -> bytes:
    """PNG bytes (``scale`` 2 is sharp on high-density screens and in e-mails).

    >>> import altair as alt
    >>> to_png(alt.Chart(alt.InlineData(values=[{"x": 1}])).mark_point().encode(x="x:Q"))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    import vl_convert as vlc

    return vlc.vegalite_to_png(_spec(chart), vl_version=_vl_version(), scale=scale)


def to_svg(chart: Any) -> str:
    """An SVG document (text stays text, so it is searchable and small)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(_spec(chart), vl_version=_vl_version())


def to_html(chart: Any) -> str:
    """One self-contained HTML page: Vega, Vega-Lite and vega-embed inlined, no external load.

    It works offline and from ``file://``. The libraries take about 1 MB per file.
    """
    import vl_convert as vlc

    page = vlc.vegalite_to_html(_spec(chart), vl_version=_vl_version(), bundle=True)
    return page.replace(f"const opts = {_EMBED_OPTIONS}", f"const opts = {_OFFLINE_OPTIONS}", 1)


def save_chart(chart: Any, path: str | os.PathLike, *, format: Format | None = None, scale: float = 2.0) -> Path:  # noqa: A002
    """Write a chart to ``path`` as PNG, SVG, HTML or Vega-Lite JSON, atomically.

    ``format`` defaults to the file's suffix.

    >>> import tempfile, altair as alt
    >>> chart = alt.Chart(alt.InlineData(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_chart(chart, Path(folder) / "chart.svg").read_text()[:4]
    '<svg'
    """
    target = Path(path)
    kind = format or target.suffix.lstrip(".").lower()
    if kind not in FORMATS:
        raise ValueError(f"{target.name}: cannot tell the format; use a .png, .svg, .html or .json file or format=")
    if kind == "png":
        data = to_png(chart, scale=scale)
    elif kind == "svg":
        data = to_svg(chart).encode("utf-8")
    elif kind == "html":
        data = to_html(chart).encode("utf-8")
    else:
        import json

        data = json.dumps(_spec(chart), indent=2, ensure_ascii=False).encode("utf-8")
    return atomic_write_bytes(target, data)


# Altair's "inline" template is a whole page: its top-level ``const`` names (the spec's, and the
# bundle's own) clash from the second chart in one notebook page on, which then stays blank. This
# one is a snippet: everything runs inside functions, the bundle runs only when no earlier output
# has defined ``window.vegaEmbed``, and "</" in the spec cannot close the script.
_SNIPPET = """\
<div class="vega-visualization" id="{{ output_div }}" style="width: 100%"></div>
<script type="text/javascript">
(function () {
  if (typeof window.vegaEmbed !== "function") {
    (function () {
      // vega-embed, Vega and Vega-Lite, inlined (twibox_nb.enable_offline_rendering)
      {{ vegaembed_script }}
    }).call(window);
  }
  const spec = {{ script_safe(spec) }};
  const embedOpt = {{ script_safe(embed_options) }};
  window.vegaEmbed("#{{ output_div }}", spec, embedOpt).catch(console.error);
})();
</script>
"""


def _script_safe(json_text: str) -> str:
    """JSON text that cannot end the ``<script>`` it sits in (``<\\/`` is ``</`` to JavaScript)."""
    return json_text.replace("</", "<\\/")


@cache
def offline_template() -> Any:
    """The jinja2 template of :func:`enable_offline_rendering`'s HTML outputs, bundle included."""
    import jinja2
    import vl_convert as vlc

    template = jinja2.Template(_SNIPPET)
    template.globals["vegaembed_script"] = vlc.javascript_bundle(vl_version=_vl_version())
    template.globals["script_safe"] = _script_safe
    return template


def enable_offline_rendering(renderer: Literal["html", "jupyter"] = "html") -> str:
    """Make Altair charts render in JupyterLab, Notebook 7 and Voila without a CDN.

    ``"html"`` (the default) inlines the Vega libraries into each chart's HTML output (~900 KB per
    chart, run once per page, so any number of charts share a page): it needs no widget manager
    and survives in saved notebooks and static exports.
    ``"jupyter"`` uses Altair's anywidget chart with the bundle inlined; it needs ``anywidget`` and
    a live kernel. Returns the renderer now active. Call it once, in the notebook; the package never
    calls it for you.
    """
    import altair as alt

    if renderer == "html":
        alt.renderers.enable("html", template=offline_template())
    elif renderer == "jupyter":
        try:
            import anywidget  # noqa: F401
        except ImportError:
            raise ImportError(
                "the 'jupyter' renderer needs anywidget (pip install anywidget); "
                "enable_offline_rendering('html') needs nothing more"
            ) from None
        alt.renderers.enable("jupyter", offline=True)
    else:
        raise ValueError(f"renderer={renderer!r}: use 'html' or 'jupyter'")
    return alt.renderers.active
