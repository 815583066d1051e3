"""Re-running a cell closes the widgets its previous run made (widgets/_lifetime.py).

A fake IPython shell stands in for ipykernel's: its ``parent_header`` is the message being
handled (an ``execute_request`` from JupyterLab carries ``metadata.cellId``) and its ``events`` are
IPython's own event manager, triggered the way ``run_cell`` triggers ``pre_run_cell``.
"""

from __future__ import annotations

import threading
from itertools import count

import ipywidgets as widgets
import pytest
from IPython.core.events import EventManager, available_events

from twibox_nb.present import chart_export
from twibox_nb.widgets import _lifetime
from twibox_nb.widgets._chart import VegaChart

_ids = count(1)


class FakeShell:
    """What _lifetime reads of ipykernel's shell: ``parent_header`` and ``events``."""

    def __init__(self) -> None:
        self.parent_header: dict = {}
        self.events = EventManager(self, available_events)

    def run(self, cell: str | None, msg_type: str = "execute_request") -> str:
        """Start a run of ``cell`` as ipykernel does: set the parent message, then ``pre_run_cell``."""
        message = f"msg-{next(_ids)}"
        metadata = {} if cell is None else {"cellId": cell}
        self.parent_header = {"header": {"msg_id": message, "msg_type": msg_type}, "metadata": metadata}
        if msg_type == "execute_request":
            self.events.trigger("pre_run_cell", None)
        return message


@pytest.fixture
def shell(monkeypatch):
    fake = FakeShell()
    monkeypatch.setattr(_lifetime, "_shell", lambda: fake)
    monkeypatch.setattr(_lifetime, "_registry", {})
    return fake


def alive(widget: widgets.Widget) -> bool:
    return widget.comm is not None  # close() ends the comm: the page's model goes with it


def chart(title: str = "c") -> VegaChart:
    return VegaChart({"mark": "point", "title": title}, svg="<svg></svg>", alt=title)


def test_rerunning_a_cell_closes_the_charts_of_its_previous_run(shell):
    shell.run("cell-a")
    first, second = chart("1"), chart("2")
    shell.run("cell-b")
    other = chart("other")
    assert _lifetime.tracked("cell-a") == [first, second] and _lifetime.tracked("cell-b") == [other]

    layouts = [first.layout, second.layout]
    shell.run("cell-a")  # the same cell again: pre_run_cell closes what its last run made
    assert not alive(first) and not alive(second)
    assert all(layout.comm is None for layout in layouts)  # their Layout models too: nothing left behind
    assert alive(other)  # another cell's chart stays
    assert _lifetime.tracked("cell-a") == []
    third = chart("3")
    assert alive(third) and _lifetime.tracked("cell-a") == [third]
    for w in (other, third):
        w.close()


def test_without_the_event_the_next_tracked_widget_closes_the_old_ones(shell):
    shell.run("cell-a")
    old = chart()
    shell.parent_header = {
        "header": {"msg_id": "later", "msg_type": "execute_request"},
        "metadata": {"cellId": "cell-a"},
    }
    new = chart()  # no pre_run_cell was seen for this run
    assert not alive(old) and alive(new)
    new.close()


def test_nothing_is_tracked_without_a_cell_id_or_outside_a_cell_run(shell):
    shell.run(None)  # a front end that sends no cell id (nbclient, a console)
    a = chart()
    shell.run("cell-a", msg_type="comm_msg")  # a button's callback: the parent is a comm message
    b = chart()
    assert _lifetime.current_run() is None and _lifetime.tracked("cell-a") == []
    shell.run(None)
    shell.run("cell-a")
    assert alive(a) and alive(b)  # closed only by whoever made them
    a.close(), b.close()


def test_a_widget_made_in_a_thread_belongs_to_no_cell(shell):
    shell.run("cell-a")
    seen = []
    worker = threading.Thread(target=lambda: seen.append(_lifetime.track(widgets.Label("from a thread"))))
    worker.start()
    worker.join()
    assert seen == [None] and _lifetime.tracked("cell-a") == []


def test_any_object_with_close_can_be_tracked_once(shell):
    closed = []

    class Builder:
        def close(self) -> None:
            closed.append(self)

    shell.run("cell-x")
    builder = Builder()
    assert _lifetime.track(builder) == "cell-x" and _lifetime.track(builder) == "cell-x"
    assert _lifetime.tracked("cell-x") == [builder]
    shell.run("cell-x")
    assert closed == [builder]  # closed once, though tracked twice


def test_the_pre_run_cell_hook_is_registered_once_per_shell(shell):
    shell.run("cell-a")
    chart().close(), chart().close()
    assert shell.events.callbacks["pre_run_cell"].count(_lifetime._pre_run_cell) == 1


def test_charts_shown_by_the_offline_renderer_are_tracked(shell):
    import altair as alt

    chart_export.enable_offline_rendering()
    try:
        shell.run("cell-chart")
        picture = alt.Chart(alt.InlineData(values=[{"x": 1}]), title="One").mark_point().encode(x="x:Q")
        data, _ = picture._repr_mimebundle_()
        (shown,) = _lifetime.tracked("cell-chart")
        assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == shown.model_id
        shell.run("cell-chart")
        assert not alive(shown)
    finally:
        alt.renderers.enable("default")
