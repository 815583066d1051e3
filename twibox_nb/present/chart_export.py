"""Charts to files without a browser (vl-convert), and offline rendering in notebooks.

vl-convert embeds Vega, Vega-Lite and a JavaScript engine, so PNG, SVG and self-contained HTML
come out of a plain Python process: no browser, no network. Files are written atomically (a
reader sees the old file or the new one). Altair's default notebook renderer loads Vega from a
CDN; :func:`enable_offline_rendering` switches to one that needs no network: by default a small
chart widget whose kernel sends the libraries once per browser page, with a PNG picture beside it
for viewers that run no JavaScript. Nothing here runs at import time.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, Literal

from .._files import atomic_write_bytes

Format = Literal["png", "svg", "html", "json"]
FORMATS: tuple[str, ...] = ("png", "svg", "html", "json")
# vega-embed's default actions link to the online Vega editor; an offline file keeps only exports
_EMBED_OPTIONS = '{"renderer":"svg"}'
_OFFLINE_OPTIONS = '{"renderer":"svg","actions":{"export":true,"source":false,"compiled":false,"editor":false}}'


def _spec(chart: Any) -> dict[str, Any]:
    """A Vega-Lite spec from an Altair chart (or a spec already), in the locale numbers are formatted in."""
    if isinstance(chart, dict):
        return localized(chart)
    to_dict = getattr(chart, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"expected an Altair chart or a Vega-Lite dict, got {type(chart).__name__}")
    return localized(to_dict())


def localized(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with Vega's number locale set to the one :mod:`twibox_nb.model.units` formats in, so the
    axis ticks read ``1.234,50`` in German as the tooltips and scorecards do. Where the separators are
    Vega's own (English) or the spec sets its own locale, the spec is returned as it is.

    >>> from twibox_nb.model.units import set_locale
    >>> previous = set_locale("de_DE"); localized({"mark": "bar"})["config"]["locale"]["number"]["decimal"]
    ','
    >>> set_locale(previous); localized({"mark": "bar"})
    'de_DE'
    {'mark': 'bar'}
    """
    from babel import Locale
    from babel.numbers import get_decimal_symbol, get_group_symbol

    from ..model.units import get_locale

    locale = get_locale()
    decimal, group = get_decimal_symbol(locale), get_group_symbol(locale)
    if (locale.split("_")[0] == "en" and (decimal, group) == (".", ",")) or "locale" in spec.get("config", {}):
        return spec
    number = {"decimal": decimal, "thousands": group, "grouping": [3], "currency": ["", ""]}
    names = Locale.parse(locale)
    sunday_first = [6, 0, 1, 2, 3, 4, 5]  # d3 counts days from Sunday, Babel from Monday

    def listed(table: Any, width: str, keys: list[int]) -> list[str]:
        return [str(table["format"][width][k]) for k in keys]

    time = {
        "dateTime": "%x %X", "date": "%x", "time": "%X", "periods": ["AM", "PM"],
        "days": listed(names.days, "wide", sunday_first), "shortDays": listed(names.days, "abbreviated", sunday_first),
        "months": listed(names.months, "wide", list(range(1, 13))),
        "shortMonths": listed(names.months, "abbreviated", list(range(1, 13))),
    }  # fmt: skip
    return {**spec, "config": {**spec.get("config", {}), "locale": {"number": number, "time": time}}}


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
def vega_bundle() -> str:
    """Vega-Embed, Vega-Lite and Vega as one script (~900 KB, from vl-convert, no network).

    Run as a classic script or a module, it defines ``window.vegaEmbed``. The "html" renderer
    inlines it into every output; the "widget" renderer's kernel sends it once per browser page.
    """
    import vl_convert as vlc

    return vlc.javascript_bundle(vl_version=_vl_version())


@cache
def offline_template() -> Any:
    """The jinja2 template of :func:`enable_offline_rendering`'s HTML outputs, bundle included."""
    import jinja2

    template = jinja2.Template(_SNIPPET)
    template.globals["vegaembed_script"] = vega_bundle()
    template.globals["script_safe"] = _script_safe
    return template


# --- the static picture beside a live chart ------------------------------------------------------

_KINDS = {"bar": "Bar", "line": "Line", "area": "Area", "point": "Scatter", "circle": "Scatter", "square": "Scatter"}


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if str(v).strip()]
    return []


def _marks(spec: dict[str, Any]) -> list[str]:
    found = []
    for part in [spec, *spec.get("layer", []), *spec.get("hconcat", []), *spec.get("vconcat", [])]:
        mark = part.get("mark")
        kind = mark.get("type") if isinstance(mark, dict) else mark
        if isinstance(kind, str):
            found.append(kind)
        if "spec" in part and isinstance(part["spec"], dict):  # facets and repeats
            found += _marks(part["spec"])
    return found


def chart_alt_text(chart: Any) -> str:
    """A sentence saying what a chart shows, for its static picture: its description, else its title.

    >>> chart_alt_text({"mark": "line", "title": {"text": "Messages", "subtitle": ["last 7 days", "by day"]}})
    'Line chart: Messages (last 7 days; by day)'
    >>> chart_alt_text({"mark": "bar", "description": "Calls per day, the weekend lower"})
    'Calls per day, the weekend lower'
    """
    spec = _spec(chart)
    described = _texts(spec.get("description"))
    if described:
        return " ".join(described)
    title = spec.get("title")
    if isinstance(title, dict):
        text, subtitle = _texts(title.get("text")), _texts(title.get("subtitle"))
    else:
        text, subtitle = _texts(title), []
    kinds = [_KINDS[m] for m in _marks(spec) if m in _KINDS]
    words = f"{kinds[0]} chart" if kinds else "Chart"
    if text:
        words += ": " + " ".join(text)
    if subtitle:
        words += f" ({'; '.join(subtitle)})"
    return words


def fallback_svg(chart: Any, alt: str | None = None) -> str:
    """The chart as an SVG picture, for where no JavaScript runs (the PNG of :func:`static_pictures`).

    The picture is drawn from the chart's own data only (vl-convert is allowed no network) and
    carries ``alt`` as its title and ARIA label; the per-mark ARIA labels of a live chart are left
    out, which halves its size.

    >>> x = {"field": "x", "type": "quantitative"}
    >>> one = {"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {"x": x}}
    >>> svg = fallback_svg(one, "One point")
    >>> svg.startswith("<svg") and '<title>One point</title>' in svg and 'aria-label="One point"' in svg
    True
    """
    import html
    import re

    import vl_convert as vlc

    spec = dict(_spec(chart))
    spec["config"] = {**spec.get("config", {}), "aria": False}
    theme = spec.get("usermeta", {}).get("embedOptions", {}).get("theme")  # a vega-themes name from Altair
    svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version(), theme=theme, allowed_base_urls=[])
    label = html.escape(alt if alt is not None else chart_alt_text(chart), quote=True)
    opening = re.match(r"<svg\b[^>]*>", svg)
    if opening is None:
        return svg
    tag = re.sub(r'\s(?:role|aria-label|aria-roledescription)="[^"]*"', "", opening.group(0))
    tag = tag[:-1] + f' role="img" aria-label="{label}">'
    return f"{tag}<title>{label}</title>{svg[opening.end() :]}"


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def smaller_png(png: bytes) -> bytes:
    """The same PNG, its pixel data deflated at zlib's best level (lossless, same pixels).

    vl-convert deflates fast: a chart's PNG comes out about 2.5 times larger than it needs to be.

    >>> import altair as alt
    >>> png = to_png(alt.Chart(alt.InlineData(values=[{"x": 1}])).mark_point().encode(x="x:Q"), scale=1)
    >>> len(smaller_png(png)) < len(png) and smaller_png(png)[:8] == png[:8]
    True
    """
    import struct
    import zlib

    if not png.startswith(_PNG_SIGNATURE):
        return png
    chunks, position = [], len(_PNG_SIGNATURE)
    while position + 12 <= len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        chunks.append((png[position + 4 : position + 8], png[position + 8 : position + 8 + length]))
        position += 12 + length
    kinds = [kind for kind, _ in chunks]
    if b"IDAT" not in kinds:
        return png
    first, last = kinds.index(b"IDAT"), len(kinds) - kinds[::-1].index(b"IDAT")
    try:
        pixels = zlib.compress(zlib.decompress(b"".join(body for _, body in chunks[first:last])), 9)
    except zlib.error:
        return png
    out = [_PNG_SIGNATURE]
    for kind, body in [*chunks[:first], (b"IDAT", pixels), *chunks[last:]]:
        out += [struct.pack(">I", len(body)), kind, body, struct.pack(">I", zlib.crc32(kind + body))]
    smaller = b"".join(out)
    return smaller if len(smaller) < len(png) else png


def static_pictures(chart: Any) -> tuple[str, bytes, str]:
    """(SVG, PNG, alt text): a chart as pictures for where no JavaScript runs (drawn once, as SVG).

    The PNG (1 pixel per CSS pixel, deflated hard) is what every notebook viewer shows, GitHub's and
    an untrusted notebook's included; the SVG is sharper and smaller to compress.
    """
    import vl_convert as vlc

    alt = chart_alt_text(chart)
    svg = fallback_svg(chart, alt)
    return svg, smaller_png(vlc.svg_to_png(svg, scale=1.0)), alt


def _pictures(spec: dict[str, Any]) -> tuple[str | None, bytes | None, str]:
    """:func:`static_pictures`, except that a chart whose pictures cannot be drawn still displays."""
    try:
        return static_pictures(spec)
    except Exception as error:  # a missing picture must never hide the live chart
        import warnings

        warnings.warn(f"no static picture for this chart ({str(error).splitlines()[0][:200]})", stacklevel=3)
        return None, None, chart_alt_text(spec)


# vega-embed's actions that work offline: export as SVG/PNG, no links out to the online editor
_LIVE_OPTIONS: dict[str, Any] = {
    "mode": "vega-lite",
    "renderer": "svg",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}
WIDGET_RENDERER = "twibox_widget"


def _widget_renderer(spec: dict[str, Any], **metadata: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Altair renderer: a :class:`~twibox_nb.widgets._chart.VegaChart` and its pictures."""
    from ..widgets._chart import VegaChart  # the core never imports ipywidgets at import time

    spec = localized(spec)
    svg, png, alt = _pictures(spec)
    options = {**_LIVE_OPTIONS, **(metadata.get("embed_options") or {})}
    return VegaChart(spec, svg=svg, png=png, alt=alt, options=options)._repr_mimebundle_()


def enable_offline_rendering(renderer: Literal["widget", "html", "jupyter"] = "widget") -> str:
    """Make Altair charts render in JupyterLab, Notebook 7 and Voila without a CDN or any network.

    ``"widget"`` (the default) shows each chart as a small widget whose state holds the chart only
    (its Vega-Lite spec and an SVG picture, gzipped: a few KB). The Vega libraries (~900 KB) are
    never stored: the first chart of a browser page asks the kernel for them, the kernel sends them
    as a message, and every chart of the page shares them. Each output also carries a PNG picture
    of the chart (tens of KB, with alt text from the chart's description or title in the output's
    metadata), which GitHub, nbviewer, an untrusted notebook and exports without JavaScript show
    instead of the widget; the widget shows its picture until Vega has arrived, and for good when
    no kernel answers (a notebook reopened with its saved widget state). The live chart needs a
    kernel, like any widget.

    ``"html"`` inlines the Vega libraries into each chart's HTML output (~900 KB per chart in the
    saved notebook, run once per page): no widget manager and no kernel needed, and a saved notebook
    redraws its charts when reopened. ``"jupyter"`` is Altair's own chart widget, with selections
    readable from Python, and the libraries in each chart's widget state (~1 MB per chart).

    Call it once, in the notebook; the package never calls it for you. Returns the name of the
    Altair renderer now active.

    >>> import altair as alt
    >>> enable_offline_rendering()
    'twibox_widget'
    >>> chart = alt.Chart(alt.InlineData(values=[{"x": 1}]), title="One point").mark_point().encode(x="x:Q")
    >>> data, metadata = chart._repr_mimebundle_()
    >>> sorted(data)
    ['application/vnd.jupyter.widget-view+json', 'image/png', 'text/plain']
    >>> metadata["image/png"]["alt"]
    'Scatter chart: One point'
    >>> enable_offline_rendering("html")  # the former default
    'html'
    >>> _ = alt.renderers.enable("default")
    """
    import altair as alt

    if renderer == "widget":
        _needs_anywidget(renderer)
        if WIDGET_RENDERER not in alt.renderers.names():
            alt.renderers.register(WIDGET_RENDERER, _widget_renderer)
        alt.renderers.enable(WIDGET_RENDERER)
    elif renderer == "html":
        alt.renderers.enable("html", template=offline_template())
    elif renderer == "jupyter":
        _needs_anywidget(renderer)
        alt.renderers.enable("jupyter", offline=True)
    else:
        raise ValueError(f"renderer={renderer!r}: use 'widget', 'html' or 'jupyter'")
    return alt.renderers.active


def _needs_anywidget(renderer: str) -> None:
    try:
        import anywidget  # noqa: F401
    except ImportError:
        raise ImportError(
            f"the {renderer!r} renderer needs anywidget (pip install anywidget); "
            "enable_offline_rendering('html') needs nothing more"
        ) from None
