"""The builder's own CSS: it fits a laptop's JupyterLab (1280 px with the file browser open, and 1024 px).

ipywidgets gives every HTML widget a 28 px line height, buttons a fixed width that ellipsizes longer
labels, drop-down menus a fixed width that cuts a longer choice, and boxes that never wrap;
textareas use the browser's monospace font; Voila's page lacks JupyterLab's themed container, so a
``<pre>`` there takes the widget's UI font and 28 px lines. Inside a builder (``.twibox-builder``)
these rules instead let notes read as text, keep every button label whole, make the preview range's
menu as wide as its longest choice ("last 7 days (2026-11-20 → 2026-11-27, end excluded)"), show
code blocks in the code font with code lines everywhere, wrap rows of controls at the output area's
edge, keep the step pills on one row (smaller where the builder is narrow; narrower still, the pills
other than the current one show their number only, their step's name in the tooltip), keep each date
of the preview table on one line (the table scrolls in its own box, so Back and Continue stay near),
and let the preview chart shrink to the width it has instead of being cut.

>>> "twibox-steps-ab12" in title_html(".twibox-steps-ab12", "")
True
"""

from __future__ import annotations

B = ".twibox-builder"
BUILDER_CSS = f"""
{B} {{container-type: inline-size; container-name: twibox-builder; max-width: 100%}}
{B} .widget-vbox > .widget-html > .widget-html-content {{line-height: 1.45; padding: 2px 0}}
{B} .widget-hbox {{flex-wrap: wrap; max-width: 100%}}
{B} .jupyter-button {{width: auto; flex-shrink: 0; min-width: fit-content}}
{B} .twibox-copy button {{white-space: nowrap; flex-shrink: 0}}
{B} .jupyter-widgets {{max-width: calc(100% - 4px)}}
{B} .twibox-builder-description textarea {{font-family: var(--jp-ui-font-family); font-size: var(--jp-ui-font-size1)}}
{B} .twibox-builder-steps {{max-width: 100%; min-width: 0}}
{B} .twibox-builder-steps > div {{display: flex; flex-wrap: nowrap; overflow-x: auto; min-width: 0; max-width: 100%}}
{B} .twibox-builder-steps button {{flex: 0 0 auto; width: auto; padding: 0 9px; margin: 2px 4px 2px 0}}
@container twibox-builder (max-width: 860px) {{
  {B} .twibox-builder-steps button {{font-size: 11px; padding: 0 6px; margin: 2px 2px 2px 0}}
  {B} .twibox-builder-steps button .fa-lock {{display: none}}
}}
@container twibox-builder (max-width: 700px) {{
  {B} .twibox-builder-steps button:not(.mod-active) {{font-size: 0; padding: 0 9px}}
  {B} .twibox-builder-steps button:not(.mod-active)::first-letter {{font-size: 11px}}
}}
{B} .twibox-builder-preview-range {{width: auto !important; min-width: 420px; max-width: 100%}}
{B} .twibox-builder-preview-range > select {{flex: 0 1 auto; width: auto}}
{B} pre {{font-family: var(--jp-code-font-family, monospace); line-height: var(--jp-code-line-height, 1.4)}}
{B} .twibox-code {{max-width: 100%}}
{B} .twibox-builder-preview-rows th, {B} .twibox-builder-preview-rows td {{white-space: nowrap; padding: 1px 8px 1px 0;
  line-height: 1.4}}
{B} .twibox-builder-preview-table {{flex: 0 0 auto; max-width: 100%}}
{B} .twibox-builder-preview-table .twibox-table-box {{max-height: 230px; overflow: auto}}
{B} .twibox-builder-preview-chart {{flex: 1 1 360px; min-width: 0; max-width: 100%}}
{B} .twibox-builder-chart-svg svg {{max-width: 100%; height: auto}}
"""


def title_html(css: str, dim: str) -> str:
    """The builder's title, its step pills' look (``css`` selects this builder's pills; ``dim`` the
    rules that dim the pills out of reach) and :data:`BUILDER_CSS`."""
    return (
        "<b style='font-size:1.15em'>Metric builder</b>"
        f"<style>{css} button{{background:white;border:1px solid #d0d7de;border-radius:12px}}"
        f"{css} button.mod-active{{background:#0969da;color:white;border-color:#0969da}}"
        # while the builder is busy every pill is disabled: greyed, so a click is not expected to act
        f"{css} button:disabled{{opacity:.55;cursor:progress}}{dim}{BUILDER_CSS}</style>"
    )
