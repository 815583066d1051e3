"""A Vega-Lite chart as a small anywidget that draws offline without storing the Vega libraries.

The widget's state is the chart only: its Vega-Lite spec and its static SVG picture, both gzipped
(a few KB; they travel as binary buffers and are saved base64), its alt text and vega-embed's
options. The Vega libraries (~900 KB) never enter the state, so a saved notebook never holds them:
the hand-written JavaScript (``_chart.js`` next to this module; no build, nothing fetched) asks the
kernel for them with a custom message when its browser page has no ``vegaEmbed`` yet, the kernel
answers with a custom message (messages are not state: nothing is saved), and one promise on
``globalThis`` shares the libraries with every chart of the page. The kernel answers a page at most
once every :data:`RESEND_AFTER` seconds, so charts asking together cost one bundle.

The output's mimebundle carries a PNG of the chart beside the widget view, with its alt text in
the output metadata, for viewers that run no JavaScript or know no widgets (GitHub, nbviewer, an
untrusted notebook in JupyterLab, exports).
A chart made while a notebook cell runs is closed when that cell runs again (:mod:`._lifetime`), so
re-running cells all day leaves no invisible chart models behind in the kernel or the page.
:func:`twibox_nb.enable_offline_rendering` makes every Altair chart display this way.

>>> chart = VegaChart({"mark": "point", "title": "Dots"}, svg="<svg></svg>", png=b"PNG", alt="Dots")
>>> data, metadata = chart._repr_mimebundle_()
>>> data["image/png"], metadata["image/png"], data["text/plain"]
('UE5H', {'alt': 'Dots'}, 'Dots')
>>> json.loads(gzip.decompress(chart.spec))["title"]
'Dots'
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import traitlets

from ..present.chart_export import vega_bundle
from ._lifetime import track

ESM = Path(__file__).with_name("_chart.js")
RESEND_AFTER = 30.0  # seconds during which a page's repeated asks (queued behind a busy cell) are ignored
_PAGES_KEPT = 256


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)  # mtime 0: same chart, same bytes


class VegaChart(anywidget.AnyWidget):
    """One chart: ``spec`` and ``picture`` are gzipped JSON and SVG; the page gets Vega from the kernel.

    ``png`` goes into the output's mimebundle only, never into the state.
    """

    _esm = ESM.read_text(encoding="utf-8")
    spec = traitlets.Bytes(b"").tag(sync=True)
    picture = traitlets.Bytes(None, allow_none=True).tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)
    options = traitlets.Dict().tag(sync=True)

    # page id -> when the kernel last sent it the libraries (shared by every chart of the kernel)
    _sent: ClassVar[dict[str, float]] = {}

    def __init__(
        self,
        spec: dict[str, Any],
        *,
        svg: str | None = None,
        png: bytes | None = None,
        alt: str = "",
        options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        compact = json.dumps(spec, separators=(",", ":"), ensure_ascii=False)
        super().__init__(
            spec=_gzip(compact), picture=_gzip(svg) if svg else None, alt=alt, options=options or {}, **kwargs
        )
        self._png = base64.b64encode(png).decode("ascii") if png else None
        self.add_class("twibox-vega-chart")
        self.on_msg(self._on_message)
        track(self)  # re-running the cell that displayed this chart closes it (see _lifetime)

    def close(self) -> None:
        """Close the chart and its Layout (ipywidgets leaves a closed widget's Layout model open, in
        the kernel and in the page: two of them a chart cell re-run, without this)."""
        layout = self.layout
        super().close()
        if layout is not None:
            layout.close()

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Answer a page's ``{"type": "vega-bundle?", "page": id}`` with the libraries, as a message."""
        if not isinstance(content, dict) or content.get("type") != "vega-bundle?":
            return
        page, now = str(content.get("page", "")), time.monotonic()
        last = VegaChart._sent.get(page)
        if last is not None and now - last < RESEND_AFTER:
            return  # this page asked again while the answer was queued or loading: one bundle is enough
        if len(VegaChart._sent) >= _PAGES_KEPT:
            VegaChart._sent.pop(next(iter(VegaChart._sent)))
        VegaChart._sent[page] = now
        self.send({"type": "vega-bundle"}, buffers=[vega_bundle().encode("utf-8")])

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        data, metadata = super()._repr_mimebundle_(**kwargs)
        data = {**data, "text/plain": self.alt or "Chart"}
        metadata = dict(metadata or {})
        if self._png:
            data["image/png"] = self._png
            metadata["image/png"] = {"alt": self.alt}
        return data, metadata
