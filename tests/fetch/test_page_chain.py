"""The one page loop: follow_chain, its shared PageBudget, and the two fetchers agreeing on it.

PageFetcher (one chain, lazily in the caller's thread) and SliceFetcher (one chain per date slice,
in worker threads) walk the same :func:`follow_chain`. Two behaviours had drifted apart before
they did, and are decided once here: a cycle records the link that looped back as ``next_url``,
and the page cap is checked at one point (a page's permit is taken as soon as the page before it
has arrived and names it, before that page is handed out).
"""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from twibox_nb.fetch.chain import ChainEnd, PageBudget, PageFetcher, SliceBudget, follow_chain
from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.report import FetchReport
from twibox_nb.fetch.session import RetryPolicy, _Session
from twibox_nb.fetch.slicing import Slice, SliceFetcher

from .conftest import ACCOUNT, json_response, mock_connection

PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
FIRST = f"https://api.twilio.com{PATH}?PageSize=1"


def numbered(count: int, loop_to: int | None = None):
    """A chain of ``count`` one-record pages (``Page=0`` …); the last links to ``loop_to`` when given."""

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("Page", "0"))
        if number + 1 < count:
            link = f"{PATH}?PageSize=1&Page={number + 1}"
        elif loop_to is not None:
            link = f"{PATH}?PageSize=1" if loop_to == 0 else f"{PATH}?PageSize=1&Page={loop_to}"
        else:
            link = None
        return json_response({"messages": [{"sid": f"SM{number}"}], "next_page_uri": link, "page": number})

    return answer


def page_url(number: int) -> str:
    return FIRST if number == 0 else f"{FIRST}&Page={number}"


def single(answer, **options) -> tuple[list[str], FetchReport, list[str]]:
    conn, net = mock_connection(answer)
    fetcher = PageFetcher(conn, httpx.Request("GET", FIRST), **options)
    pages = [p.url for p in fetcher]
    assert fetcher.report is not None
    return pages, fetcher.report, net.urls


def sliced(answer, **options) -> tuple[list[str], FetchReport, list[str], SliceFetcher]:
    conn, net = mock_connection(answer)
    fetcher = SliceFetcher(conn, [Slice(httpx.Request("GET", FIRST))], concurrency=2, **options)
    pages = [p.url for _, p in fetcher]
    assert fetcher.report is not None
    return pages, fetcher.report, net.urls, fetcher


def the_same(report: FetchReport) -> tuple:
    return (report.pages, report.records, report.requests, report.stop_reason, report.truncated, report.next_url)


# --- the two decided behaviours: both fetchers agree -------------------------------------------------


def test_a_cycle_records_the_link_that_looped_back_in_both_fetchers():
    pages, report, urls = single(numbered(3, loop_to=0), max_pages=10)
    s_pages, s_report, s_urls, fetcher = sliced(numbered(3, loop_to=0), max_pages=10)
    assert pages == s_pages == urls == s_urls == [page_url(0), page_url(1), page_url(2)]
    assert the_same(report) == the_same(s_report) == (3, 3, 3, "cycle", True, FIRST)
    assert fetcher.slice_reports[0].next_url == FIRST  # the slice's own report keeps it too


def test_a_cycle_in_one_of_several_slices_keeps_that_slices_link():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("DateSent") == "2026-11-02":
            return json_response({"messages": [{"sid": "SM2"}], "next_page_uri": f"{PATH}?DateSent=2026-11-02"})
        return json_response({"messages": [{"sid": "SM1"}], "next_page_uri": None})

    conn, _ = mock_connection(answer)
    days = [Slice(httpx.Request("GET", f"https://api.twilio.com{PATH}?DateSent=2026-11-0{d}")) for d in (1, 2, 3)]
    fetcher = SliceFetcher(conn, days, concurrency=2)
    list(fetcher)
    looped = f"https://api.twilio.com{PATH}?DateSent=2026-11-02"
    assert (fetcher.report.stop_reason, fetcher.report.truncated, fetcher.report.next_url) == ("cycle", True, looped)
    assert [r.stop_reason for r in fetcher.slice_reports] == ["complete", "cycle", "complete"]


@pytest.mark.parametrize("cap", [1, 2, 4])
def test_the_cap_stops_both_fetchers_at_the_same_page_without_a_request_beyond_it(cap):
    pages, report, urls = single(numbered(6), max_pages=cap)
    s_pages, s_report, s_urls, fetcher = sliced(numbered(6), max_pages=cap)
    assert pages == s_pages == urls == s_urls == [page_url(n) for n in range(cap)]  # nothing asked past the cap
    assert the_same(report) == the_same(s_report) == (cap, cap, cap, "page_cap", True, page_url(cap))
    # The slice knew it was capped when its last page arrived, as the single chain does: its own
    # report says so (the cap was checked before the page was handed out, not before a next request).
    own = fetcher.slice_reports[0]
    assert (own.stop_reason, own.truncated, own.next_url, own.pages) == ("page_cap", True, page_url(cap), cap)


def test_a_cap_equal_to_the_number_of_pages_is_complete_in_both_fetchers():
    _, report, _ = single(numbered(3), max_pages=3)
    _, s_report, _, _ = sliced(numbered(3), max_pages=3)
    assert the_same(report) == the_same(s_report) == (3, 3, 3, "complete", False, None)


def test_the_single_chain_report_is_there_with_the_last_page_under_the_cap():
    conn, net = mock_connection(numbered(6))
    fetcher = PageFetcher(conn, httpx.Request("GET", FIRST), max_pages=2)
    pages = iter(fetcher)
    next(pages)
    assert fetcher.report is None  # the chain goes on
    next(pages)
    assert (fetcher.report.stop_reason, fetcher.report.next_url) == ("page_cap", page_url(2))
    assert net.urls == [page_url(0), page_url(1)]


# --- the loop itself ---------------------------------------------------------------------------------


def test_follow_chain_is_lazy_and_ends_with_the_chains_report():
    conn, net = mock_connection(numbered(3))
    ends: list[ChainEnd] = []
    with _Session(conn, RetryPolicy(), lambda s: None, lambda: 0.0) as session:
        chain = follow_chain(session, httpx.Request("GET", FIRST), PageBudget(None), on_end=ends.append)
        assert net.urls == []  # nothing is sent before the first page is asked for
        first = next(chain)
        assert first.url == FIRST and net.urls == [FIRST] and ends == []
        rest = []
        with pytest.raises(StopIteration) as done:
            while True:
                rest.append(next(chain))
    assert len(rest) == 2 and len(net.urls) == 3
    assert ends == [done.value.value] and done.value.value.report.stop_reason == "complete"
    assert (done.value.value.report.pages, done.value.value.report.requests) == (3, 0)  # the session counts requests


def test_follow_chain_stopped_early_sends_nothing_more():
    conn, net = mock_connection(numbered(10))
    with _Session(conn, RetryPolicy(), lambda s: None, lambda: 0.0) as session:
        chain = follow_chain(session, httpx.Request("GET", FIRST), PageBudget(None))
        next(chain)
        next(chain)
        chain.close()
    assert net.urls == [page_url(0), page_url(1)]


def test_an_error_ends_the_chain_without_raising():
    conn, _ = mock_connection(lambda request: json_response({"code": 20404, "message": "nope"}, status=404))
    with _Session(conn, RetryPolicy(), lambda s: None, lambda: 0.0) as session:
        chain = follow_chain(session, httpx.Request("GET", FIRST), PageBudget(None))
        with pytest.raises(StopIteration) as done:
            next(chain)
    end = done.value.value
    assert (end.report.stop_reason, end.report.truncated, end.stopped_at, end.report.next_url) == (
        "error",
        False,
        FIRST,
        FIRST,
    )


def test_a_chain_refused_its_first_page_sends_nothing():
    conn, net = mock_connection(numbered(3))
    budget = PageBudget(1)
    assert budget.take("another chain's page")  # the one page went to another chain
    with _Session(conn, RetryPolicy(), lambda s: None, lambda: 0.0) as session:
        chain = follow_chain(session, httpx.Request("GET", FIRST), budget)
        with pytest.raises(StopIteration) as done:
            next(chain)
    assert net.urls == [] and budget.capped and budget.capped_at == FIRST
    assert (done.value.value.report.stop_reason, done.value.value.report.pages) == ("page_cap", 0)


# --- the budget ----------------------------------------------------------------------------------------


def test_the_budget_grants_exactly_max_pages_across_threads():
    budget = PageBudget(500)
    granted: list[bool] = []
    lock = threading.Lock()

    def take() -> None:
        mine = [budget.take(f"p{i}") for i in range(200)]
        with lock:
            granted.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 500 and budget.used == 500 and budget.capped


def test_a_budget_without_a_cap_is_never_capped():
    budget = PageBudget(None)
    assert all(budget.take(f"p{i}") for i in range(1000)) and not budget.capped and budget.capped_at is None


def test_the_first_pages_of_the_first_slices_are_kept_whatever_the_timing(sandbox):
    conn = connect(sandbox=sandbox)
    url = f"https://api.twilio.com/2010-04-01/Accounts/{conn.account_sid}/Messages.json?PageSize=10"
    days = [Slice(httpx.Request("GET", f"{url}&DateSent=2026-11-{d:02d}")) for d in range(1, 11)]
    for _ in range(3):
        fetcher = SliceFetcher(conn, days, concurrency=4, max_pages=6)
        kept = sorted((index, page.number) for index, page in fetcher)
        assert kept == [(i, 0) for i in range(6)]
        assert fetcher.report.next_url is not None and fetcher.report.stop_reason == "page_cap"
        assert all(r is None or r.stop_reason == "page_cap" for r in fetcher.slice_reports[6:])


# --- the budget of several slices: a fixed order, whatever the thread timing ------------------------


def ranked_first(lengths: list[int], cap: int) -> set[tuple[int, int]]:
    """The pages a cap keeps: the first ``cap`` of (page number, chain) order, among the pages that exist."""
    pages = sorted((page, chain) for chain, length in enumerate(lengths) for page in range(length))
    return {(chain, page) for page, chain in pages[:cap]}


def run_chains(budget: SliceBudget, lengths: list[int], seed: int) -> set[tuple[int, int]]:
    """Each chain in its own thread, with random delays, takes permits until refused or done."""
    granted: set[tuple[int, int]] = set()
    lock = threading.Lock()
    delays = random.Random(seed)
    waits = [[delays.uniform(0, 0.003) for _ in range(length)] for length in lengths]

    def walk(chain: int) -> None:
        try:
            for page in range(lengths[chain]):
                time.sleep(waits[chain][page])
                if not budget.take(f"{chain}/{page}", chain=chain, page=page):
                    return
                with lock:
                    granted.add((chain, page))
        finally:
            budget.finish(chain)

    threads = [threading.Thread(target=walk, args=(chain,)) for chain in range(len(lengths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)  # nobody waits forever
    return granted


@pytest.mark.parametrize("cap", [3, 8, 13, 40])
def test_the_slice_budget_keeps_the_same_pages_whatever_the_timing(cap):
    lengths = [4, 1, 6, 2, 3]  # 16 pages in all
    expected = ranked_first(lengths, cap)
    for seed in range(6):
        budget = SliceBudget(cap, chains=len(lengths))
        assert run_chains(budget, lengths, seed) == expected
        assert budget.used == len(expected) and budget.capped == (cap < 16)
        if budget.capped:  # the lowest-ranked page refused, whichever thread asked first
            page, chain = min((p, c) for c, n in enumerate(lengths) for p in range(n) if (c, p) not in expected)
            assert budget.capped_at == f"{chain}/{page}"


def test_a_chain_waits_for_a_lower_ranked_chain_and_a_cancel_wakes_it():
    budget = SliceBudget(4, chains=2)
    assert budget.take("a0", chain=0, page=0) and budget.take("b0", chain=1, page=0)
    answers: list[bool] = []
    asking = threading.Thread(target=lambda: answers.append(budget.take("a2", chain=0, page=2)))
    assert budget.take("a1", chain=0, page=1)  # rank 2: within the cap whatever chain 1 needs
    asking.start()
    asking.join(0.2)
    assert asking.is_alive() and not answers  # a2 waits: were chain 1 to need a page 1, a2 would be 5th
    budget.cancel()
    asking.join(5)
    assert answers == [False] and budget.cut_short == {0} and not budget.capped  # cut short, no cap


@pytest.mark.parametrize("chain_1_needs_more", [True, False])
def test_the_waiting_chain_is_answered_once_the_lower_ranked_chain_knows(chain_1_needs_more):
    budget = SliceBudget(4, chains=2)
    assert all(budget.take(url, chain=c, page=p) for url, c, p in (("a0", 0, 0), ("b0", 1, 0), ("a1", 0, 1)))
    answers: list[bool] = []
    asking = threading.Thread(target=lambda: answers.append(budget.take("a2", chain=0, page=2)))
    asking.start()
    asking.join(0.1)
    assert not answers
    if chain_1_needs_more:
        assert budget.take("b1", chain=1, page=1)  # ranks before a2 and fills the cap
    else:
        budget.finish(1)  # chain 1 had one page: a2 is the 4th page
    asking.join(5)
    assert answers == [not chain_1_needs_more] and budget.capped_at == (None if answers[0] else "a2")


def test_a_sliced_fetch_with_a_cap_above_its_slices_keeps_the_same_pages_at_low_concurrency():
    def answer(request: httpx.Request) -> httpx.Response:
        time.sleep(random.uniform(0, 0.004))
        length, number = int(request.url.params["Length"]), int(request.url.params.get("Page", "0"))
        link = f"{PATH}?PageSize=1&Length={length}&Page={number + 1}" if number + 1 < length else None
        return json_response({"messages": [{"sid": f"SM{length}-{number}"}], "next_page_uri": link, "page": number})

    lengths = [3, 1, 5, 2, 4, 1]
    slices = [Slice(httpx.Request("GET", f"{FIRST}&Length={n}")) for n in lengths]
    kept = set()
    for _ in range(4):
        conn, _net = mock_connection(answer)
        fetcher = SliceFetcher(conn, slices, concurrency=2, max_pages=11)
        pages = {(index, page.number) for index, page in fetcher}
        assert fetcher.report.stop_reason == "page_cap" and fetcher.report.pages == 11
        kept.add(frozenset(pages))
    assert kept == {frozenset(ranked_first(lengths, 11))}
