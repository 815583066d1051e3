"""The builder's state on the shared sandbox, with a transport that records every request sent."""

from __future__ import annotations

import pytest

from twibox_nb.builder.state import BuilderState
from twibox_nb.fetch.connection import connect

from ..conftest import NOW, RecordingTransport


@pytest.fixture
def transport(sandbox):
    return RecordingTransport(sandbox.transport())


@pytest.fixture
def state(sandbox, transport):
    return BuilderState(connect(sandbox=sandbox, transport=transport), now=NOW)
