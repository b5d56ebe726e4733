"""Sortable columns of the baggage queue and the schedule-change list (issue 15.3): a header sorts the rows
both ways in the URL, paging and the filter form keep the order, a bad order is the default (never a 500),
and every order reads an index in the list's order (SQLite's plan has no sort step)."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import event, update

from portal.models import BaggageOrder
from tests.conftest import POSTGRES, booking_doc, order_baggage, passenger_doc, rescheduled

HX = {"HX-Request": "true"}
T0 = datetime(2030, 1, 6, 9, 0, tzinfo=UTC)


def shown(response, pattern: str) -> list[str]:
    """What a user reads in the rows, top to bottom: the matches of `pattern` in the table's body."""
    page = response.get_data(as_text=True)
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return re.findall(pattern, body)


def header_link(response, label: str) -> str:
    """The href of the sortable header `label`."""
    page = response.get_data(as_text=True)
    return unescape(re.search(rf'<a class="sort" href="([^"]+)"[^>]*>{re.escape(label)}<', page).group(1))


def next_link(response) -> str:
    return unescape(re.search(r'href="([^"]+)"[^>]*rel="next"', response.get_data(as_text=True)).group(1))


def kept_fields_text(page: str, form: str) -> dict[str, str]:
    return dict(re.findall(rf'<input type="hidden" name="(\w+)" value="([^"]*)" form="{form}">', page))


def kept_fields(response, form: str) -> dict[str, str]:
    """The hidden fields the results give the filter form `form` (its id)."""
    return kept_fields_text(response.get_data(as_text=True), form)


# --- the baggage queue ----------------------------------------------------------------------------------


@pytest.fixture
def bags(world, make, db):
    """Three requested orders whose codes run 1, 2, 3 and whose requested times run 2, 3, 1 (a code is its
    id; the times are moved so the two orders differ): [code of each] in id order."""
    made = []
    for i in range(3):
        booking = make.booking(
            order_number=f"BQ{i:08d}", passengers=[passenger_doc("P1", "BAG", "SORT", f"618-7{i:09d}")]
        )
        made.append(order_baggage(db, booking, world.agent))
    for order, hours in zip(made, (2, 0, 1), strict=True):
        db.session.execute(
            update(BaggageOrder)
            .where(BaggageOrder.id == order.id)
            .values(created_at=T0 + timedelta(hours=hours))
        )
    db.session.commit()
    return [order.code for order in made]


CODE = r'<span class="mono">(BG\d+)</span>'


def test_the_baggage_queue_sorts_by_each_header_both_ways(client, auth, world, bags):
    first, second, third = bags
    auth.login(world.ops)
    default = client.get("/operations/baggage")
    assert shown(default, CODE) == [second, third, first]  # oldest requested first
    assert "oldest first" in default.text
    assert re.search(r'<th scope="col" aria-sort="ascending"><a class="sort" [^>]*>Requested', default.text)

    newest = client.get(header_link(default, "Requested"))
    assert "sort=requested" in newest.request.url and "dir=desc" in newest.request.url
    assert shown(newest, CODE) == [first, third, second]
    assert re.search(r'aria-sort="descending"><a class="sort" [^>]*>Requested', newest.text)
    assert "oldest first" not in newest.text

    by_code = client.get(header_link(default, "Baggage order"))
    assert shown(by_code, CODE) == [first, second, third]
    assert re.search(r'aria-sort="ascending"><a class="sort" [^>]*>Baggage order', by_code.text)
    assert (
        'aria-sort="ascending"><a class="sort" href="/operations/baggage?sort=requested' not in by_code.text
    )
    by_code_desc = client.get(header_link(by_code, "Baggage order"))
    assert shown(by_code_desc, CODE) == [third, second, first]


def test_the_baggage_queue_keeps_its_order_across_pages_and_filters(client, auth, world, bags, monkeypatch):
    first, second, third = bags
    monkeypatch.setitem(client.application.config, "PER_PAGE", 2)
    auth.login(world.ops)
    newest = client.get("/operations/baggage", query_string={"sort": "requested", "dir": "desc"}, headers=HX)
    assert "<header" not in newest.text  # the htmx partial: the results only, sorted
    assert shown(newest, CODE) == [first, third]
    following = client.get(next_link(newest))
    assert shown(following, CODE) == [second]
    # The filter form carries the order (fields in the results, renewed with every swap)...
    fields = kept_fields(newest, "baggage-filters")
    assert fields == {"sort": "requested", "dir": "desc"}
    assert 'id="baggage-filters"' in client.get("/operations/baggage").text
    # ...so choosing a filter sends it along, and the list stays sorted from page 1.
    filtered = client.get(
        "/operations/baggage", query_string={"status": "requested", "account": "", **fields}
    )
    assert shown(filtered, CODE) == [first, third]
    assert kept_fields(filtered, "baggage-filters") == fields
    other = client.get("/operations/baggage", query_string={"account": world.other.id, **fields})
    assert "No baggage orders match" in other.text and kept_fields(other, "baggage-filters") == fields
    # The default order needs no fields.
    assert kept_fields(client.get("/operations/baggage"), "baggage-filters") == {}


def test_a_header_link_keeps_the_filters_and_drops_the_page(client, auth, world, bags, monkeypatch):
    monkeypatch.setitem(client.application.config, "PER_PAGE", 2)
    auth.login(world.ops)
    page_two = client.get("/operations/baggage", query_string={"status": "any", "page": 2})
    link = header_link(page_two, "Baggage order")
    assert "status=any" in link and "page=" not in link


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "price; DROP TABLE baggage_order", "dir": "asc"},
        {"sort": "code", "dir": "sideways"},
        {"sort": "", "dir": ""},
        {"sort": "requested", "dir": "desc", "page": "x"},
        {"sort": ["code", "requested"], "dir": ["asc", "desc"]},
    ],
)
def test_a_bad_baggage_sort_is_the_default_never_a_500(client, auth, world, bags, query):
    auth.login(world.ops)
    response = client.get("/operations/baggage", query_string=query)
    assert response.status_code == 200
    assert sorted(shown(response, CODE)) == sorted(bags)


# --- the schedule-change list ---------------------------------------------------------------------------


@pytest.fixture
def moved(clock, make, world):
    """Three changes found one hour apart, on flights booked to depart in 30, 10 and 20 days (the first
    moved 25 days earlier, so Was and Now order differently): [order number] in the order found."""
    numbers = []
    for i, (days, moved_by) in enumerate(((30, -25 * 24), (10, 3), (20, 3))):
        doc = booking_doc(
            order_number=f"SQ{i:08d}",
            passengers=[passenger_doc("P1", "SCHED", "SORT", f"618-8{i:09d}")],
            departure=clock.now + timedelta(days=days),
        )
        make.import_bookings(doc)
        make.import_bookings(rescheduled(doc, segment=0, hours=moved_by))
        numbers.append(doc["order_number"])
        clock.advance(hours=1)
    return numbers


ORDER = r'<td><a href="/bookings/(SQ\d+)">'


def test_the_schedule_change_list_sorts_by_each_header_both_ways(client, auth, world, moved):
    found_first, soonest_last, middle = moved  # departs in 30, 10, 20 days
    auth.login(world.ops)
    default = client.get("/operations/schedule-changes")
    assert shown(default, ORDER) == moved  # oldest found first
    assert re.search(r'aria-sort="ascending"><a class="sort" [^>]*>Found', default.text)
    latest = client.get(header_link(default, "Found"))
    assert shown(latest, ORDER) == moved[::-1]
    assert re.search(r'aria-sort="descending"><a class="sort" [^>]*>Found', latest.text)

    departing = client.get(header_link(default, "Was"))
    assert shown(departing, ORDER) == [soonest_last, middle, found_first]
    assert re.search(r'aria-sort="ascending"><a class="sort" [^>]*>Was', departing.text)
    assert "aria-sort" not in re.search(r"<th[^>]*><a[^>]*>Found", departing.text).group(0)
    departing_last = client.get(header_link(departing, "Was"))
    assert shown(departing_last, ORDER) == [found_first, middle, soonest_last]


def test_the_schedule_change_list_keeps_its_order_across_pages_and_filters(
    client, auth, world, moved, monkeypatch
):
    found_first, soonest_last, middle = moved
    monkeypatch.setitem(client.application.config, "PER_PAGE", 2)
    auth.login(world.ops)
    departing = client.get("/operations/schedule-changes", query_string={"sort": "departure"}, headers=HX)
    assert "<header" not in departing.text and shown(departing, ORDER) == [soonest_last, middle]
    assert shown(client.get(next_link(departing)), ORDER) == [found_first]
    fields = kept_fields(departing, "change-filters")
    assert fields == {"sort": "departure", "dir": "asc"}
    any_state = client.get("/operations/schedule-changes", query_string={"state": "any", **fields})
    assert shown(any_state, ORDER) == [soonest_last, middle]
    assert "state=any" in next_link(any_state) and "sort=departure" in next_link(any_state)


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "kind", "dir": "desc"},
        {"sort": "found", "dir": "DESC"},
        {"sort": "departure'--"},
        {"state": "nonsense", "sort": "found", "dir": "desc"},
    ],
)
def test_a_bad_schedule_change_sort_is_the_default_never_a_500(client, auth, world, moved, query):
    auth.login(world.ops)
    response = client.get("/operations/schedule-changes", query_string=query)
    assert response.status_code == 200
    assert sorted(shown(response, ORDER)) == sorted(moved)


# --- both queues count no further than the lists' cap ------------------------------------------------


@pytest.fixture
def cap_of_one(client, monkeypatch):
    """The lists' count cap and the page length both at 1, so three rows run past the cap."""
    from portal.services import baggage, schedule_changes

    monkeypatch.setattr(baggage, "LIST_COUNT_CAP", 1)
    monkeypatch.setattr(schedule_changes, "LIST_COUNT_CAP", 1)
    monkeypatch.setitem(client.application.config, "PER_PAGE", 1)


@pytest.mark.parametrize(
    ("url", "fixture", "pattern", "noun", "sort", "order"),
    [
        ("/operations/baggage", "bags", CODE, "baggage order", "requested", (0, 2, 1)),
        ("/operations/schedule-changes", "moved", ORDER, "schedule change", "found", (2, 1, 0)),
    ],
    ids=["baggage", "changes"],
)
def test_the_queues_counts_stop_at_a_cap_on_huge_lists(
    client, auth, world, request, url, fixture, pattern, noun, sort, order, cap_of_one
):
    """As the refund queue and My Bookings: "Showing 1–25 of 1,000+". A page with rows after it counts
    no further than the cap yet offers Next (its probe saw the next row); the page that ends the list
    knows the exact total from its own rows. The sort is kept throughout."""
    rows = request.getfixturevalue(fixture)
    auth.login(world.ops)
    query = {"sort": sort, "dir": "desc"}
    first = client.get(url, query_string=query, headers=HX)
    assert f"Showing 1–1 of 2+ {noun}s" in first.text and "Page 1 of 2+" in first.text
    second = client.get(next_link(first), headers=HX)
    assert f"Showing 2–2 of 3+ {noun}s" in second.text
    last = client.get(next_link(second), headers=HX)
    assert f"Showing 3–3 of 3 {noun}s" in last.text and 'rel="next"' not in last.text
    read = shown(first, pattern) + shown(second, pattern) + shown(last, pattern)
    assert read == [rows[i] for i in order]  # newest first, across the pages
    # A page past the end is never an error: a page of the list, its rows shown.
    beyond = client.get(url, query_string={**query, "page": 9}, headers=HX)
    assert beyond.status_code == 200 and len(shown(beyond, pattern)) == 1


# --- every order reads an index ------------------------------------------------------------------------


def _plan(db, client, url, query) -> list[str]:
    """SQLite's plan of the list's query (the one with ORDER BY and LIMIT) for `url` with `query`."""
    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "ORDER BY" in statement and "LIMIT" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        assert client.get(url, query_string=query).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = statements
    with db.engine.connect() as conn:
        return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]


LISTS = [
    (
        "/operations/baggage",
        "status",
        ("requested", "confirmed", "any"),
        ("requested", "code"),
        True,
    ),
    # A change has no account column: with an account chosen, that account's changes are read through its
    # bookings and sorted (docs/decisions.md, issue 15).
    (
        "/operations/schedule-changes",
        "state",
        ("open", "accepted", "refund", "any"),
        ("found", "departure"),
        False,
    ),
]


@pytest.mark.skipif(POSTGRES, reason="SQLite's query plan (PostgreSQL's depends on its statistics)")
@pytest.mark.parametrize(
    ("url", "filter_name", "states", "keys", "by_account"), LISTS, ids=["baggage", "changes"]
)
def test_every_order_of_the_queues_reads_an_index(
    client, auth, world, db, url, filter_name, states, keys, by_account
):
    """No sort step: the rows are read in the list's order and the read stops at the page's end. The open
    changes are the exception: few by nature, found by their index, then sorted by departure."""
    auth.login(world.ops)
    accounts = ("", str(world.other.id)) if by_account else ("",)
    for state in states:
        for account in accounts:
            for key in keys:
                for direction in ("asc", "desc"):
                    query = {filter_name: state, "account": account, "sort": key, "dir": direction}
                    plan = _plan(db, client, url, query)
                    sorted_after = any("TEMP B-TREE FOR ORDER BY" in step for step in plan)
                    assert sorted_after == (state == "open" and key == "departure"), (query, plan)


# --- every sortable list's filter form keeps the order ----------------------------------------------------


@pytest.mark.parametrize(
    ("role", "url", "sort", "form"),
    [
        ("agent", "/bookings/", "departure", "booking-filters"),
        ("agent", "/requests/", "raised", "request-filters"),
        ("agent", "/finance/refunds", "submitted", "refund-filters"),
        ("ops", "/operations/requests/", "activity", "request-queue-filters"),
        ("ops", "/operations/refunds", "code", "refund-queue-filters"),
        ("ops", "/operations/baggage", "code", "baggage-filters"),
        ("ops", "/operations/schedule-changes", "departure", "change-filters"),
    ],
)
def test_every_sortable_lists_filter_form_keeps_a_chosen_order(client, auth, world, role, url, sort, form):
    auth.login(getattr(world, role))
    plain = client.get(url).get_data(as_text=True)
    assert f'<form class="filters" id="{form}"' in plain and kept_fields_text(plain, form) == {}
    for direction in ("asc", "desc"):
        sorted_page = client.get(url, query_string={"sort": sort, "dir": direction}, headers=HX)
        assert kept_fields(sorted_page, form) == {"sort": sort, "dir": direction}
