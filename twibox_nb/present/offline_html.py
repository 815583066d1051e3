"""An nbconvert exporter for HTML pages that load nothing from the network: ``--to twibox_html``.

nbconvert's own ``--to html`` (the ``lab`` template) puts ``<script src="https://cdnjs…">`` tags in
every page's head, for require.js, MathJax and mermaid, and a loader that fetches the widget
renderer from unpkg when a notebook carries widget state. This exporter is ``HTMLExporter`` with a
template, ``twibox_html``, that extends ``lab`` and leaves those blocks empty; the page's styles are
inlined by ``lab`` already. Its images carry the alt text that outputs give in their metadata
(``display(SVG(svg, metadata={"alt": "Chart: …"}))``, the key IPython's ``Image(alt=…)`` uses),
which ``lab`` drops.

The package registers it with nbconvert (the ``nbconvert.exporters`` entry point), so with twibox_nb
installed::

    jupyter nbconvert --to twibox_html --no-input report.ipynb    # writes report.html

What is given up offline: LaTeX in Markdown stays as typed (no MathJax), mermaid diagrams stay as
their source text, and ipywidgets are not drawn (their state is not embedded). Charts drawn in the
kernel as SVG or PNG, HTML tables and Markdown are unaffected.

>>> from nbconvert.exporters import get_exporter
>>> get_exporter("twibox_html") is OfflineHTMLExporter
True
>>> OfflineHTMLExporter().file_extension
'.html'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nbconvert.exporters import HTMLExporter
from traitlets import default, validate

__all__ = ["TEMPLATES", "OfflineHTMLExporter"]

#: The folder holding the ``twibox_html`` template (shipped in the package).
TEMPLATES = Path(__file__).parent / "nbconvert_templates"


class OfflineHTMLExporter(HTMLExporter):
    """HTML that loads no script, style or font from outside the file; images keep their alt text."""

    export_from_notebook = "HTML, offline (twibox)"

    @default("template_name")
    def _template_name_default(self) -> str:
        return "twibox_html"

    @default("extra_template_basedirs")
    def _default_extra_template_basedirs(self) -> list[str]:
        return [str(TEMPLATES), os.getcwd()]  # nbconvert's own default is the working folder

    @validate("extra_template_basedirs")
    def _keep_the_template(self, proposal: Any) -> list[str]:
        """Folders set in configuration are searched too, after this package's."""
        folders = list(proposal["value"])
        return folders if str(TEMPLATES) in folders else [str(TEMPLATES), *folders]
