"""The library browser filters with library.search and hands the chosen metric over."""

from __future__ import annotations

from twibox_nb import library
from twibox_nb.widgets.library import LibraryBrowser


def test_filters_by_data_source_and_words():
    browser = LibraryBrowser()
    assert list(browser.metrics.options) == library.list()["name"].tolist()
    browser.source.value = "Voice"
    assert set(browser.metrics.options) == set(library.search("Voice")["name"])
    browser.text.value = "spend"
    assert list(browser.metrics.options) == ["Call spend"] and browser.selected.name == "Call spend"
    assert "Call spend" in browser.details.value and "calls" in browser.details.value.lower()
    browser.text.value = "no such words"
    assert browser.selected is None and "No metric" in browser.details.value


def test_open_hands_over_the_metric():
    opened = []
    browser = LibraryBrowser(on_open=opened.append)
    browser.metrics.value = "Delivery rate"
    assert not browser.open_button.disabled
    browser.open_button.click()
    assert opened == [library.get("Delivery rate")]
    assert LibraryBrowser().open_button.disabled  # nothing to open into yet
