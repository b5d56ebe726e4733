"""Unit tests for portal.domain.booking_import: the shared example, then a table of broken files."""

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from portal.domain.booking_import import (
    FORMAT,
    ExistingBooking,
    ImportRejected,
    parse_import,
)

# The format's example, from shared/ beside the repository, else the portal's own copy of it
# (tests/integration/test_import_service.py checks the two are identical when both exist).
SHARED_EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "booking-import.example.json"
PORTAL_EXAMPLE = Path(__file__).resolve().parents[2] / "portal" / "demo_bookings.example.json"
EXAMPLE = SHARED_EXAMPLE if SHARED_EXAMPLE.exists() else PORTAL_EXAMPLE
ACCOUNTS = {"DEMO": "SGD"}

B0 = ("bookings", 0)
B1 = ("bookings", 1)
P0 = (*B0, "passengers", 0)
P1 = (*B0, "passengers", 1)
S0 = (*B0, "segments", 0)
S1 = (*B0, "segments", 1)
A0 = (*B1, "ancillaries", 0)
E0 = "bookings[0] (AT26110001): "
E1 = "bookings[1] (AT26110002): "


@pytest.fixture(scope="module")
def example_text() -> str:
    if not EXAMPLE.exists():
        pytest.fail(f"the example file is missing: {EXAMPLE}")
    return EXAMPLE.read_text(encoding="utf-8")


@pytest.fixture
def example(example_text) -> dict:
    return json.loads(example_text)


def rejection(raw, **kwargs) -> list[str]:
    kwargs = {"accounts": ACCOUNTS, "airlines": set(), **kwargs}
    with pytest.raises(ImportRejected) as caught:
        parse_import(raw, **kwargs)
    return caught.value.errors


# --- Mutations for the table: each edits the example in place, or returns a replacement file. -----


def _parent(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


def put(path, value):
    def mutate(doc):
        _parent(doc, path)[path[-1]] = value

    return mutate


def drop(path):
    def mutate(doc):
        del _parent(doc, path)[path[-1]]

    return mutate


def append(path, make_item):
    def mutate(doc):
        _parent(doc, path)[path[-1]].append(make_item(doc))

    return mutate


def both(*mutations):
    def mutate(doc):
        for mutation in mutations:
            mutation(doc)

    return mutate


def second_infant(doc):
    infant = copy.deepcopy(doc["bookings"][1]["passengers"][1])
    return {**infant, "ref": "P3", "ticket_number": "668-2400000103"}


def reimport(account="DEMO", passengers=("P1", "P2"), segments=("S1", "S2")):
    booking = ExistingBooking(account, frozenset(passengers), frozenset(segments))
    return {"existing": {"AT26110001": booking}, "accounts": {"DEMO": "SGD", "ACME": "SGD"}}


def case(case_id, mutate, expected, **kwargs):
    expected = [expected] if isinstance(expected, str) else expected
    return pytest.param(mutate, expected, kwargs, id=case_id)


AMOUNT = 'must be an amount string such as "420.00"'

BAD_FILES = [
    # The file as a whole
    case("not JSON", lambda d: b'{"format": }', "file: not valid JSON (line 1 column 12: Expecting value)"),
    case(
        "not UTF-8",
        lambda d: json.dumps(d, ensure_ascii=False).replace("WEI MING", "JOSÉ").encode("latin-1"),
        "file: not UTF-8 text",
    ),
    case("top level is a list", lambda d: [d], "file: must be a JSON object"),
    case("wrong format", put(("format",), "portal-bookings/2"), f'format: must be "{FORMAT}"'),
    case("format missing", drop(("format",)), "format: required"),
    case("unknown top-level field", put(("comment",), "hi"), "comment: unknown field"),
    case("bookings not a list", put(("bookings",), {}), "bookings: must be a list"),
    case(
        "nothing to import",
        both(put(("bookings",), []), drop(("airlines",))),
        "file: has no bookings and no airlines",
    ),
    case(
        "repeated JSON key",
        lambda d: json.dumps(d).replace('"pnr": "K3X9QZ"', '"pnr": "K3X9QZ", "pnr": "K3X9QZ"'),
        E0 + "pnr: given more than once",
    ),
    # Airlines
    case(
        "airlines not a list",
        put(("airlines",), "SQ"),
        [
            "airlines: must be a list",
            E0 + "airline: unknown airline code SQ",
            E1 + "airline: unknown airline code TR",
        ],
    ),
    case(
        "airline unknown field",
        put(("airlines", 0, "alliance"), "Star"),
        "airlines[0].alliance: unknown field",
    ),
    case("airline name missing", drop(("airlines", 1, "name")), "airlines[1].name: required"),
    case(
        "airline bad type",
        put(("airlines", 0, "type"), "Legacy"),
        'airlines[0].type: must be one of "LCC", "FSC"',
    ),
    case(
        "airline code lowercase",
        put(("airlines", 0, "code"), "sq"),
        [
            "airlines[0].code: must be 2 uppercase letters or digits (IATA airline code)",
            E0 + "airline: unknown airline code SQ",
        ],
    ),
    case(
        "airline code twice",
        put(("airlines", 1, "code"), "SQ"),
        [
            "airlines[1].code: SQ appears twice in this file (also airlines[0])",
            E1 + "airline: unknown airline code TR",
        ],
    ),
    case(
        "manage booking url without scheme",
        put(("airlines", 0, "manage_booking_url"), "www.singaporeair.com"),
        "airlines[0].manage_booking_url: must start with https:// or http://",
    ),
    case(
        "baggage weight as string",
        put(("airlines", 0, "baggage_options", 0, "weight_kg"), "10"),
        "airlines[0].baggage_options[0].weight_kg: must be a whole number",
    ),
    case(
        "baggage weight as boolean",
        put(("airlines", 0, "baggage_options", 0, "weight_kg"), True),
        "airlines[0].baggage_options[0].weight_kg: must be a whole number",
    ),
    case(
        "baggage weight with decimals",
        put(("airlines", 0, "baggage_options", 0, "weight_kg"), 10.0),
        "airlines[0].baggage_options[0].weight_kg: must be a whole number",
    ),
    case(
        "baggage weight NaN",
        lambda d: json.dumps(d).replace('"weight_kg": 10', '"weight_kg": NaN'),
        "airlines[0].baggage_options[0].weight_kg: must be a whole number",
    ),
    case(
        "baggage weight zero",
        put(("airlines", 0, "baggage_options", 0, "weight_kg"), 0),
        "airlines[0].baggage_options[0].weight_kg: must be between 1 and 100",
    ),
    case(
        "baggage price as number",
        put(("airlines", 1, "baggage_options", 0, "price"), 38),
        "airlines[1].baggage_options[0].price: " + AMOUNT,
    ),
    case(
        "baggage code twice",
        put(("airlines", 1, "baggage_options", 1, "code"), "BG20"),
        "airlines[1].baggage_options[1].code: BG20 is used twice",
    ),
    case(
        "baggage currency lowercase",
        put(("airlines", 0, "baggage_options", 0, "currency"), "sgd"),
        'airlines[0].baggage_options[0].currency: must be a 3-letter ISO 4217 currency code such as "SGD"',
    ),
    case(
        "baggage option unknown field",
        put(("airlines", 0, "baggage_options", 0, "pieces"), 1),
        "airlines[0].baggage_options[0].pieces: unknown field",
    ),
    # Booking fields
    case("booking unknown field", put((*B0, "remarks"), "VIP"), E0 + "remarks: unknown field"),
    case("booking not an object", put(B1, "AT26110002"), 'bookings[1] ("AT26110002"): must be an object'),
    case(
        "order number lowercase",
        put((*B0, "order_number"), "at26110001"),
        'bookings[0] (order number "at26110001"): order_number: must be 6-20 uppercase letters or digits',
    ),
    case(
        "order number missing",
        drop((*B0, "order_number")),
        "bookings[0] (no order number): order_number: required",
    ),
    # Issue 13: a malformed order number is echoed back, quoted, escaped and cut short.
    case(
        "order number with markup and control characters",
        put((*B0, "order_number"), "<b>AT\u202e1\n"),
        'bookings[0] (order number "<b>AT\\u202e1\\n"): order_number: '
        "must be 6-20 uppercase letters or digits",
    ),
    case(
        "order number far too long",
        put((*B0, "order_number"), "X" * 500),
        f'bookings[0] (order number "{"X" * 24}"…): order_number: must be 6-20 uppercase letters or digits',
    ),
    case(
        "order number not a string",
        put((*B0, "order_number"), 26110001),
        'bookings[0] (order number "26110001"): order_number: must be a string',
    ),
    # Issue 13: a ticket number another booking in the database holds is refused, naming both.
    case(
        "ticket number of another booking in the database",
        None,
        E1 + "passengers[0].ticket_number: 668-2400000101 is already a ticket of booking AT99000001",
        ticket_owners={"668-2400000101": "AT99000001"},
    ),
    case(
        "order number twice",
        put((*B1, "order_number"), "AT26110001"),
        "bookings[1] (AT26110001): order_number: AT26110001 appears twice in this file (also bookings[0])",
    ),
    case("pnr missing", drop((*B0, "pnr")), E0 + "pnr: required"),
    case("pnr too short", put((*B0, "pnr"), "K3X"), E0 + "pnr: must be 5-8 uppercase letters or digits"),
    case("pnr lowercase", put((*B0, "pnr"), "k3x9qz"), E0 + "pnr: must be 5-8 uppercase letters or digits"),
    case("unknown account", put((*B0, "account"), "ACME"), E0 + "account: no client account with code ACME"),
    case(
        "currency does not match account",
        put((*B0, "currency"), "MYR"),
        E0 + "currency: MYR does not match account DEMO's currency SGD",
    ),
    case("unknown airline", put((*B0, "airline"), "XX"), E0 + "airline: unknown airline code XX"),
    case(
        "bad payment channel",
        put((*B1, "payment_channel"), "card"),
        E1 + 'payment_channel: must be one of "deposit", "vcc", "vcc_passthrough"',
    ),
    case("bad status", put((*B0, "status"), "open"), E0 + 'status: must be one of "ticketed", "cancelled"'),
    case(
        "issued at without offset",
        put((*B0, "issued_at"), "2026-11-02T08:15:00"),
        E0 + "issued_at: not an ISO 8601 time with offset",
    ),
    case(
        "issued at not a time",
        put((*B0, "issued_at"), "next tuesday"),
        E0 + "issued_at: not an ISO 8601 time with offset",
    ),
    case("contact missing", drop((*B0, "contact")), E0 + "contact: required"),
    case("contact unknown field", put((*B0, "contact", "fax"), "123456"), E0 + "contact.fax: unknown field"),
    case(
        "bad email",
        put((*B0, "contact", "email"), "bookings at demo-travel"),
        E0 + 'contact.email: must be an email address such as "name@example.com"',
    ),
    case(
        "bad phone",
        put((*B0, "contact", "phone"), "call me"),
        E0 + "contact.phone: must be 6-25 characters of digits, spaces and + - ( )",
    ),
    # Passengers
    case("passengers empty", put((*B0, "passengers"), []), E0 + "passengers: must not be empty"),
    case("passenger not an object", put(P0, "P1"), E0 + "passengers[0]: must be an object"),
    case("passenger unknown field", put((*P0, "farerule"), {}), E0 + "passengers[0].farerule: unknown field"),
    case(
        "fare unknown field", put((*P0, "fare", "yq"), "10.00"), E0 + "passengers[0].fare.yq: unknown field"
    ),
    case(
        "fare rule field missing",
        drop((*P1, "fare_rule", "change_fee")),
        E0 + "passengers[1].fare_rule.change_fee: required",
    ),
    case("passenger ref twice", put((*P1, "ref"), "P1"), E0 + "passengers[1].ref: P1 is used twice"),
    case(
        "bad passenger type",
        put((*P0, "type"), "ADULT"),
        E0 + 'passengers[0].type: must be one of "ADT", "CHD", "INF"',
    ),
    case("empty title", put((*P0, "title"), " "), E0 + "passengers[0].title: must not be empty"),
    case("name not a string", put((*P0, "first_name"), 5), E0 + "passengers[0].first_name: must be a string"),
    case(
        "name too long",
        put((*P0, "last_name"), "T" * 61),
        E0 + "passengers[0].last_name: must be at most 60 characters",
    ),
    case(
        "bad ticket number",
        put((*P0, "ticket_number"), "6182400000001"),
        E0 + 'passengers[0].ticket_number: must be a ticket number such as "618-2400000001"',
    ),
    case(
        "ticket number twice in file",
        put((*B1, "passengers", 0, "ticket_number"), "618-2400000001"),
        E1 + "passengers[0].ticket_number: 618-2400000001 appears twice in this file "
        "(also bookings[0] (AT26110001) passengers[0])",
    ),
    case("float amount", put((*P0, "fare", "base"), 420.0), E0 + "passengers[0].fare.base: " + AMOUNT),
    case("integer amount", put((*P0, "fare", "base"), 420), E0 + "passengers[0].fare.base: " + AMOUNT),
    case(
        "amount with exponent", put((*P0, "fare", "base"), "4.2e2"), E0 + "passengers[0].fare.base: " + AMOUNT
    ),
    case(
        "amount with 3 decimals",
        put((*P0, "fare", "taxes"), "85.505"),
        E0 + "passengers[0].fare.taxes: must have at most 2 decimal places",
    ),
    case(
        "negative amount",
        put((*P1, "fare_rule", "cancellation_fee"), "-150.00"),
        E0 + "passengers[1].fare_rule.cancellation_fee: must not be negative",
    ),
    case(
        "huge amount",
        put((*P0, "fare", "base"), "12345678901.00"),
        E0 + "passengers[0].fare.base: is too large (at most 10 digits before the decimal point)",
    ),
    case(
        "refundable taxes above taxes",
        put((*P0, "fare", "refundable_taxes"), "85.51"),
        E0 + "passengers[0].fare.refundable_taxes: must not exceed taxes (85.50)",
    ),
    case(
        "boolean as string",
        put((*P0, "fare_rule", "refundable"), "true"),
        E0 + "passengers[0].fare_rule.refundable: must be true or false",
    ),
    case(
        "boolean as number",
        put((*P0, "fare_rule", "changeable"), 1),
        E0 + "passengers[0].fare_rule.changeable: must be true or false",
    ),
    case(
        "infant without adult",
        put((*B1, "passengers", 0, "type"), "CHD"),
        E1 + "passengers: an infant needs an adult on the same booking",
    ),
    case(
        "more infants than adults",
        append((*B1, "passengers"), second_infant),
        E1 + "passengers: more infants (2) than adults (1): each infant needs an adult of its own",
    ),
    # Segments
    case("segments not a list", put((*B1, "segments"), {}), E1 + "segments: must be a list"),
    case("segment unknown field", put((*S0, "aircraft"), "359"), E0 + "segments[0].aircraft: unknown field"),
    case("segment ref twice", put((*S1, "ref"), "S1"), E0 + "segments[1].ref: S1 is used twice"),
    case(
        "bad flight number",
        put((*S0, "flight_number"), "SQ 978"),
        E0 + 'segments[0].flight_number: must be a flight number such as "SQ978"',
    ),
    case(
        "lowercase airport",
        put((*S0, "origin"), "sin"),
        E0 + "segments[0].origin: must be a 3-letter IATA airport code in capitals",
    ),
    case(
        "destination equals origin",
        put((*S0, "destination"), "SIN"),
        E0 + "segments[0].destination: must differ from origin (SIN)",
    ),
    case(
        "naive departure",
        put((*S1, "departure"), "2027-01-17T12:05:00"),
        E0 + "segments[1].departure: not an ISO 8601 time with offset",
    ),
    case(
        "offset with seconds",
        put((*S1, "departure"), "2027-01-17T12:05:00+07:00:30"),
        E0 + "segments[1].departure: offset must be whole minutes between -12:00 and +14:00",
    ),
    case(
        "year out of range",
        put((*S0, "departure"), "0001-01-01T00:00:00+08:00"),
        E0 + "segments[0].departure: year must be between 1970 and 2199",
    ),
    case(
        # 09:30 reads later than 09:25, but at +09:00 it is an hour earlier than 09:25 at +08:00.
        "arrival before departure",
        put((*S0, "arrival"), "2027-01-10T09:30:00+09:00"),
        E0 + "segments[0].arrival: must be after departure (2027-01-10T09:25:00+08:00)",
    ),
    case(
        # 08:25 at +07:00 is the very instant of 09:25 at +08:00: no flight takes no time.
        "arrival at departure instant",
        put((*S0, "arrival"), "2027-01-10T08:25:00+07:00"),
        E0 + "segments[0].arrival: must be after departure (2027-01-10T09:25:00+08:00)",
    ),
    case(
        "cabin too long",
        put((*S0, "cabin"), "Y" * 21),
        E0 + "segments[0].cabin: must be at most 20 characters",
    ),
    case(
        "bad segment status",
        put((*S0, "status"), "HK"),
        E0 + 'segments[0].status: must be one of "confirmed", "cancelled"',
    ),
    # Ancillaries
    case("ancillaries not a list", put((*B0, "ancillaries"), {}), E0 + "ancillaries: must be a list"),
    case("ancillary unknown field", put((*A0, "weight"), 20), E1 + "ancillaries[0].weight: unknown field"),
    case(
        "ancillary for unknown passenger",
        put((*A0, "passenger"), "P9"),
        E1 + "ancillaries[0].passenger: no passenger with ref P9 in this booking",
    ),
    case(
        "ancillary for unknown segment",
        put((*A0, "segment"), "S2"),
        E1 + "ancillaries[0].segment: no segment with ref S2 in this booking",
    ),
    case("ancillary bad type", put((*A0, "type"), "meal"), E1 + 'ancillaries[0].type: must be "baggage"'),
    case("ancillary price as number", put((*A0, "price"), 38.0), E1 + "ancillaries[0].price: " + AMOUNT),
    # Re-import against what the database already holds
    case(
        "re-import moves account",
        None,
        E0 + "account: booking AT26110001 belongs to account ACME and cannot move to DEMO",
        **reimport(account="ACME"),
    ),
    case(
        "re-import removes a segment",
        drop(S1),
        E0 + "segments: S2 was imported before and cannot be removed; set its status to cancelled instead",
        **reimport(),
    ),
    case(
        "re-import removes a passenger",
        drop(P1),
        E0 + "passengers: P2 was imported before and cannot be removed",
        **reimport(),
    ),
]


@pytest.mark.parametrize(("mutate", "expected", "kwargs"), BAD_FILES)
def test_bad_file_is_rejected_with_exact_errors(example, mutate, expected, kwargs):
    replacement = mutate(example) if mutate else None
    if replacement is None:
        raw = json.dumps(example)
    elif isinstance(replacement, bytes | str):
        raw = replacement
    else:
        raw = json.dumps(replacement)
    assert rejection(raw, **kwargs) == expected


def test_table_is_large_enough():
    assert len(BAD_FILES) >= 40


# --- Good files ----------------------------------------------------------------------------------


def test_example_parses(example_text):
    result = parse_import(example_text.encode("utf-8"), accounts=ACCOUNTS, airlines=set())

    assert [a.code for a in result.airlines] == ["SQ", "TR"]
    scoot = result.airlines[1]
    assert (scoot.name, scoot.type) == ("Scoot", "LCC")
    assert scoot.manage_booking_url == "https://www.flyscoot.com/en/manage-booking"
    assert [(o.code, o.weight_kg, o.price, o.currency) for o in scoot.baggage_options] == [
        ("BG20", 20, Decimal("38.00"), "SGD"),
        ("BG30", 30, Decimal("55.00"), "SGD"),
    ]

    first, second = result.bookings
    assert (first.index, first.order_number, first.account, first.pnr) == (0, "AT26110001", "DEMO", "K3X9QZ")
    assert (first.airline, first.payment_channel, first.currency, first.status) == (
        "SQ",
        "deposit",
        "SGD",
        "ticketed",
    )
    assert first.issued_at == datetime(2026, 11, 2, 0, 15, tzinfo=UTC)
    assert first.issued_at.utcoffset() == timedelta(hours=8)
    assert (first.contact_email, first.contact_phone) == ("bookings@demo-travel.example", "+65 6123 4567")

    tan = first.passengers[0]
    assert (tan.ref, tan.type, tan.title, tan.first_name, tan.last_name) == (
        "P1",
        "ADT",
        "MR",
        "WEI MING",
        "TAN",
    )
    assert tan.ticket_number == "618-2400000001"
    assert (tan.base, tan.taxes, tan.refundable_taxes) == (
        Decimal("420.00"),
        Decimal("85.50"),
        Decimal("60.00"),
    )
    assert (tan.refundable, tan.cancellation_fee, tan.changeable, tan.change_fee) == (
        True,
        Decimal("150.00"),
        True,
        Decimal("80.00"),
    )
    assert str(tan.taxes) == "85.50"

    outbound = first.segments[0]
    assert (outbound.ref, outbound.flight_number, outbound.origin, outbound.destination) == (
        "S1",
        "SQ978",
        "SIN",
        "BKK",
    )
    assert outbound.departure == datetime(2027, 1, 10, 9, 25, tzinfo=timezone(timedelta(hours=8)))
    assert outbound.arrival.utcoffset() == timedelta(hours=7)
    assert outbound.arrival.hour == 10
    assert (outbound.cabin, outbound.status) == ("Y", "confirmed")
    assert [s.ref for s in first.segments] == ["S1", "S2"]
    assert first.ancillaries == ()

    assert second.index == 1
    assert [p.type for p in second.passengers] == ["ADT", "INF"]
    assert second.passengers[0].refundable is False
    assert second.passengers[0].cancellation_fee == Decimal("0.00")
    (bag,) = second.ancillaries
    assert (bag.passenger_ref, bag.segment_ref, bag.type, bag.description, bag.price) == (
        "P1",
        "S1",
        "baggage",
        "Checked bag 20 kg",
        Decimal("38.00"),
    )


def test_result_is_immutable(example_text):
    result = parse_import(example_text, accounts=ACCOUNTS, airlines=set())
    assert isinstance(result.bookings, tuple)
    assert isinstance(result.bookings[0].passengers, tuple)
    with pytest.raises(AttributeError):
        result.bookings[0].pnr = "ZZZZZZ"


def test_text_and_byte_order_mark_accepted(example_text):
    from_text = parse_import(example_text, accounts=ACCOUNTS, airlines=set())
    with_bom = parse_import(b"\xef\xbb\xbf" + example_text.encode("utf-8"), accounts=ACCOUNTS, airlines=set())
    assert from_text == with_bom


def test_reimport_keeping_account_and_refs_is_accepted(example_text):
    existing = {"AT26110001": ExistingBooking("DEMO", frozenset({"P1", "P2"}), frozenset({"S1", "S2"}))}
    result = parse_import(example_text, accounts=ACCOUNTS, airlines=set(), existing=existing)
    assert len(result.bookings) == 2


def test_airlines_known_in_database_need_not_be_in_file(example):
    del example["airlines"]
    result = parse_import(json.dumps(example), accounts=ACCOUNTS, airlines={"SQ", "TR"})
    assert result.airlines == ()
    assert [b.airline for b in result.bookings] == ["SQ", "TR"]


def test_file_with_only_airlines_is_accepted(example):
    example["bookings"] = []
    result = parse_import(json.dumps(example), accounts={}, airlines=set())
    assert (len(result.airlines), result.bookings) == (2, ())


def test_optional_fields_may_be_absent_or_null(example):
    example["airlines"][0]["manage_booking_url"] = None
    del example["airlines"][0]["baggage_options"]
    del example["bookings"][0]["ancillaries"]
    result = parse_import(json.dumps(example), accounts=ACCOUNTS, airlines=set())
    assert result.airlines[0].manage_booking_url is None
    assert result.airlines[0].baggage_options == ()
    assert result.bookings[0].ancillaries == ()


def test_amounts_are_quantized_to_cents(example):
    example["bookings"][0]["passengers"][0]["fare"]["base"] = "420.5"
    example["bookings"][0]["passengers"][0]["fare"]["taxes"] = "86"
    passenger = parse_import(json.dumps(example), accounts=ACCOUNTS, airlines=set()).bookings[0].passengers[0]
    assert (str(passenger.base), str(passenger.taxes)) == ("420.50", "86.00")


def test_utc_designator_is_an_offset(example):
    example["bookings"][0]["issued_at"] = "2026-11-02T00:15:00Z"
    booking = parse_import(json.dumps(example), accounts=ACCOUNTS, airlines=set()).bookings[0]
    assert booking.issued_at.utcoffset() == timedelta(0)


# --- Every error, in document order --------------------------------------------------------------


def test_all_errors_are_reported_not_just_the_first(example):
    example["bookings"][0]["pnr"] = "K3"
    example["bookings"][0]["currency"] = "MYR"
    example["bookings"][1]["ancillaries"][0]["passenger"] = "P7"
    errors = rejection(json.dumps(example))
    assert errors == [
        E0 + "pnr: must be 5-8 uppercase letters or digits",
        E0 + "currency: MYR does not match account DEMO's currency SGD",
        E1 + "ancillaries[0].passenger: no passenger with ref P7 in this booking",
    ]


def test_errors_follow_document_order(example):
    # Break things in an order unlike the document's, and move keys around in the document.
    example["bookings"][1]["ancillaries"][0]["price"] = "38.001"
    del example["bookings"][1]["status"]  # missing: reported after the fields that are present
    example["bookings"][1]["passengers"][0]["ticket_number"] = "668"
    example["bookings"][0]["segments"][1]["status"] = "gone"
    example["bookings"][0] = {"aaa": 1, **example["bookings"][0]}  # unknown field, placed first
    example["airlines"][1]["type"] = "ULCC"
    example["format"] = "v1"
    example["format"] = example.pop("format")  # now the last key of the file
    errors = rejection(json.dumps(example))
    assert errors == [
        'airlines[1].type: must be one of "LCC", "FSC"',
        E0 + "aaa: unknown field",
        E0 + 'segments[1].status: must be one of "confirmed", "cancelled"',
        E1 + 'passengers[0].ticket_number: must be a ticket number such as "618-2400000001"',
        E1 + "ancillaries[0].price: must have at most 2 decimal places",
        E1 + "status: required",
        f'format: must be "{FORMAT}"',
    ]


def test_rejection_message_joins_all_errors(example):
    example["bookings"][0]["pnr"] = "K3"
    example["bookings"][1]["pnr"] = "T"
    with pytest.raises(ImportRejected) as caught:
        parse_import(json.dumps(example), accounts=ACCOUNTS, airlines=set())
    assert len(caught.value.errors) == 2
    assert str(caught.value) == "\n".join(caught.value.errors)


# --- Currency decimals (portal.domain.money) ---------------------------------------------------------


def test_a_currency_with_three_decimals_is_refused(example):
    example["bookings"][0]["currency"] = "KWD"
    errors = rejection(json.dumps(example), accounts={"DEMO": "KWD"})
    assert any("currency" in e and "KWD" in e and "does not support" in e for e in errors), errors


def test_amounts_with_more_decimals_than_the_currency_are_refused(example):
    for booking in example["bookings"]:
        booking["currency"] = "JPY"
    example["bookings"][0]["passengers"][0]["fare"]["base"] = "42000.50"
    errors = rejection(json.dumps(example), accounts={"DEMO": "JPY"})
    assert any("base 42000.50: JPY amounts have no decimals" in e for e in errors), errors


def test_whole_yen_amounts_import(example):
    for booking in example["bookings"]:
        booking["currency"] = "JPY"
        for p in booking["passengers"]:
            for part in (p["fare"], p["fare_rule"]):
                for name, value in part.items():
                    if isinstance(value, str):
                        part[name] = str(int(Decimal(value)))
        for a in booking.get("ancillaries", []):
            a["price"] = str(int(Decimal(a["price"])))
    parse_import(json.dumps(example), accounts={"DEMO": "JPY"}, airlines=set())


def test_a_ticket_of_a_booking_reimported_in_the_same_file_may_move(example_text):
    """AT26110001 is re-imported in this file and no longer holds 618-2400000001, so it may move."""
    doc = json.loads(example_text)
    doc["bookings"][0]["passengers"][0]["ticket_number"] = "618-2400000091"
    doc["bookings"][1]["passengers"][0]["ticket_number"] = "618-2400000001"
    owners = {"618-2400000001": "AT26110001", "618-2400000002": "AT26110001"}
    kwargs = reimport()
    parse_import(json.dumps(doc), airlines=set(), ticket_owners=owners, **kwargs)
    # ...and the booking's own tickets are its own on a re-import.
    parse_import(example_text, airlines=set(), ticket_owners=owners, **kwargs)
