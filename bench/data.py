"""A synthetic data set of N bookings, bulk-inserted with SQLAlchemy Core into the product's own tables.

Rows go through the Table objects (`Model.__table__`) so the column types' bind processors apply:
amounts are Decimals stored as hundredths, times are aware datetimes stored as naive UTC. Search keys
are computed by the product's own `booking_search_keys()`, and what a booking keeps of its segments and
passengers (route, first departure, lead passenger, count) by its `booking_summary()`, so a search and
My Bookings find and show exactly what they would after a real import.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from queue import Full, Queue
from types import SimpleNamespace

from sqlalchemy import Connection, func, select

from portal.models import (
    Account,
    Airline,
    Ancillary,
    BaggageOption,
    Booking,
    BookingSearchKey,
    Passenger,
    ScheduleChange,
    Segment,
)
from portal.models.bookings import BOOKING_SUMMARY_COLUMNS
from portal.services.bookings import booking_search_keys, booking_summary

BATCH = 5_000  # rows per executemany, and bookings generated per round

AGENT_ACCOUNT = "BENCH-A"  # the agent user's account: every second booking
ACCOUNTS = [
    ("BENCH-A", "Bench Travel Pte Ltd", "SGD", Decimal("15.00")),
    ("BENCH-B", "Bench Holidays Sdn Bhd", "MYR", Decimal("20.00")),
]

# code, name, type, ticket prefix, (baggage code, description, kg, price) or None
AIRLINES = [
    ("SQ", "Singapore Airlines", "FSC", "618", None),
    ("MH", "Malaysia Airlines", "FSC", "232", None),
    ("CX", "Cathay Pacific", "FSC", "160", None),
    ("TR", "Scoot", "LCC", "668", ("BG20", "Checked bag 20 kg", 20, Decimal("38.00"))),
    ("AK", "AirAsia", "LCC", "807", ("PBB20", "Checked baggage 20 kg", 20, Decimal("65.00"))),
    ("3K", "Jetstar Asia", "LCC", "375", ("BAG20", "Checked baggage 20 kg", 20, Decimal("42.00"))),
]

# IATA code -> UTC offset in minutes (no DST in the region; LHR and SYD fixed for simplicity)
AIRPORTS = {
    "SIN": 480,
    "KUL": 480,
    "PEN": 480,
    "BKK": 420,
    "CGK": 420,
    "DPS": 480,
    "MNL": 480,
    "HKG": 480,
    "TPE": 480,
    "NRT": 540,
    "KIX": 540,
    "ICN": 540,
    "SYD": 660,
    "DEL": 330,
    "DXB": 240,
    "LHR": 0,
}
HUBS = ["SIN", "SIN", "SIN", "KUL", "KUL", "BKK", "HKG"]

# Common Singapore/Malaysia surnames: TAN, TANG and TANAKA make the `TAN` search a heavy one (as in life).
LAST_NAMES = [
    "TAN", "LIM", "LEE", "NG", "ONG", "WONG", "GOH", "CHUA", "CHAN", "KOH", "TEO", "ANG", "YEO", "TAY",
    "HO", "LOW", "TOH", "SIM", "CHONG", "CHIA", "TANG", "TANAKA", "NAIR", "KUMAR", "SINGH", "RAHMAN",
    "ISMAIL", "ABDULLAH", "PEREIRA", "SANTOS", "SMITH", "JONES", "MULLER", "NGUYEN", "TRAN", "PHAM",
    "SATO", "SUZUKI", "KIM", "PARK", "CHEN", "WANG", "ZHANG", "LIU", "HUANG", "ZHAO", "MENON", "PILLAI",
]  # fmt: skip
FIRST_NAMES = [
    "WEI MING", "HUI LING", "ARJUN", "KAR WAI", "BEE LIAN", "AZIZ", "PRIYA", "JIA HUI", "MIN JUN",
    "MARIA", "KENG SWEE", "NUR AISYAH", "YEN NI", "JOAO", "OLIVIA", "DANIEL", "SARAH", "JUN JIE",
    "XIN YI", "MEI LING", "RAJESH", "SITI", "AHMAD", "KENJI", "YUKI", "SOO JIN", "MICHAEL", "EMILY",
    "JAMES", "GRACE", "WEI JIE", "ZHI HAO", "SHU FEN", "ANAND", "DEEPA", "FARAH", "HAFIZ", "LUCAS",
]  # fmt: skip
CHILD_NAMES = ["ETHAN", "CHLOE", "AIDEN", "SOFIA", "RYAN", "ELLA", "JAYDEN", "ZOE"]
PNR_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _amounts(*values: str) -> list[Decimal]:
    return [Decimal(v) for v in values]


BASE_FSC = _amounts("120.00", "180.00", "260.00", "420.00", "680.00", "1250.00", "2890.00")
BASE_LCC = _amounts("49.00", "69.00", "99.00", "129.00", "189.00")
TAXES = _amounts("15.00", "40.50", "62.50", "85.50", "110.50", "240.80")
TEN = Decimal("10.00")
ZERO = Decimal("0.00")
FEES = _amounts("0.00", "50.00", "100.00", "150.00")
CHANGE_FEES = _amounts("0.00", "45.00", "80.00")


@dataclass
class FillReport:
    rows: dict[str, int] = field(default_factory=dict)


def order_number(booking_id: int) -> str:
    return f"BN{booking_id:08d}"


def _insert(conn: Connection, table, rows: list[dict], report: FillReport) -> None:
    for start in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[start : start + BATCH])
    report.rows[table.name] = report.rows.get(table.name, 0) + len(rows)


def insert_reference_data(conn: Connection, now: datetime, report: FillReport) -> tuple[dict, dict, dict]:
    """Accounts, airlines and baggage options; returns ids by code and the LCCs' baggage option."""
    _insert(
        conn,
        Account.__table__,
        [
            {"code": c, "name": n, "currency": cur, "service_fee": fee, "active": True, "created_at": now}
            for c, n, cur, fee in ACCOUNTS
        ],
        report,
    )
    _insert(
        conn,
        Airline.__table__,
        [
            {
                "code": code,
                "name": name,
                "carrier_type": kind,
                "manage_booking_url": f"https://airline.example/{code.lower()}/manage",
            }
            for code, name, kind, _prefix, _bag in AIRLINES
        ],
        report,
    )
    account_ids = dict(conn.execute(select(Account.code, Account.id)).all())
    currencies = dict(conn.execute(select(Account.id, Account.currency)).all())
    airline_ids = dict(conn.execute(select(Airline.code, Airline.id)).all())
    _insert(
        conn,
        BaggageOption.__table__,
        [
            {
                "airline_id": airline_ids[code],
                "code": bag[0],
                "description": bag[1],
                "weight_kg": bag[2],
                "price": bag[3],
                "currency": "SGD",
                "active": True,
            }
            for code, _n, _k, _p, bag in AIRLINES
            if bag
        ],
        report,
    )
    return account_ids, currencies, airline_ids


def fill(conn: Connection, n: int, *, seed: int = 20261123, now: datetime | None = None) -> FillReport:
    """Insert n bookings with 1-4 passengers and 1-4 segments each, their search keys, some
    ancillaries and a few unacknowledged schedule changes, into an empty schema.

    A second thread generates the next round of rows while this one inserts the current one (the
    drivers release the GIL while the database works); the data depends only on the seed.
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    report = FillReport()
    account_ids, currencies, airline_ids = insert_reference_data(conn, now, report)
    rounds = _prefetch(_generate(n, random.Random(seed), now, account_ids, currencies, airline_ids))
    for tables in rounds:
        # Parents before children: PostgreSQL checks foreign keys row by row.
        for table, rows in tables:
            _insert(conn, table, rows, report)

    if conn.dialect.name == "postgresql":
        # Ids were given explicitly: move the sequences past them so later inserts do not collide.
        for table in (Booking.__table__, Passenger.__table__, Segment.__table__):
            highest = select(func.coalesce(func.max(table.c.id), 1)).scalar_subquery()
            conn.execute(select(func.setval(func.pg_get_serial_sequence(table.name, "id"), highest)))
    return report


def _prefetch(rounds: Iterator, depth: int = 2) -> Iterator:
    """Run a generator in a background thread, `depth` items ahead of the consumer."""
    queue: Queue = Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in rounds:
                while not stop.is_set():
                    try:
                        queue.put(item, timeout=0.5)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(done)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(exc)

    thread = threading.Thread(target=produce, name="bench-data", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def summary_of(segments: list[dict], passengers: list) -> dict:
    """What the booking keeps of its segments and passengers, by the product's own booking_summary() on a
    stand-in with the import's view of them: each departure at its origin's offset, in travel order."""
    view = SimpleNamespace(
        segments=[
            SimpleNamespace(
                origin=s["origin"],
                destination=s["destination"],
                departure=s["departure_at"].astimezone(timezone(timedelta(minutes=s["departure_offset"]))),
            )
            for s in segments
        ],
        passengers=passengers,
    )
    return dict(zip(BOOKING_SUMMARY_COLUMNS, booking_summary(view), strict=True))


def _generate(n: int, rng: random.Random, now: datetime, account_ids, currencies, airline_ids) -> Iterator:
    """Rows for BATCH bookings at a time: [(table, rows), ...] in insertion order."""
    accounts = [account_ids[code] for code, *_ in ACCOUNTS]
    airlines = [(airline_ids[a[0]], *a) for a in AIRLINES]
    airports = list(AIRPORTS)
    two_years = 730 * 86_400
    passenger_id = segment_id = 0

    t_booking, t_passenger, t_segment = Booking.__table__, Passenger.__table__, Segment.__table__
    t_key, t_ancillary, t_change = BookingSearchKey.__table__, Ancillary.__table__, ScheduleChange.__table__

    for first in range(1, n + 1, BATCH):
        bookings, passengers, segments, keys, ancillaries, changes = [], [], [], [], [], []
        for booking_id in range(first, min(n, first + BATCH - 1) + 1):
            account_id = accounts[booking_id % 2 == 0]  # odd ids: BENCH-A, even ids: BENCH-B
            airline_id, code, _name, kind, prefix, bag = rng.choice(airlines)
            issued = now - timedelta(seconds=rng.randrange(two_years))
            status = "cancelled" if rng.random() < 0.04 else "ticketed"
            number = order_number(booking_id)
            pnr = "".join(rng.choices(PNR_ALPHABET, k=6))

            # Segments: one way, return, a connection one way, or connections both ways.
            n_seg = rng.choices((1, 2, 3, 4), weights=(35, 40, 5, 20))[0]
            home = rng.choice(HUBS)
            away = rng.choice([a for a in airports if a != home])
            via = rng.choice([a for a in airports if a not in (home, away)])
            path = {
                1: [(home, away)],
                2: [(home, away), (away, home)],
                3: [(home, via), (via, away), (away, home)],
                4: [(home, via), (via, away), (away, via), (via, home)],
            }[n_seg]
            departure = issued + timedelta(days=rng.randint(1, 120), minutes=rng.randrange(0, 1440, 5))
            first_segment_id = segment_id + 1
            for position, (origin, destination) in enumerate(path):
                segment_id += 1
                arrival = departure + timedelta(minutes=rng.randrange(55, 800, 5))
                segments.append(
                    {
                        "id": segment_id,
                        "booking_id": booking_id,
                        "ref": f"S{position + 1}",
                        "position": position,
                        "flight_number": f"{code}{rng.randint(1, 999)}",
                        "origin": origin,
                        "destination": destination,
                        "departure_at": departure,
                        "departure_offset": AIRPORTS[origin],
                        "arrival_at": arrival,
                        "arrival_offset": AIRPORTS[destination],
                        "cabin": "Y",
                        "status": "confirmed",
                    }
                )
                gap = (
                    timedelta(hours=rng.randint(2, 6))
                    if path[position][1] == via
                    else timedelta(days=rng.randint(3, 14))
                )
                departure = arrival + gap

            # Passengers: a lead adult, then adults or the lead's children and infants.
            n_pax = rng.choices((1, 2, 3, 4), weights=(50, 30, 10, 10))[0]
            lead_last = rng.choice(LAST_NAMES)
            search_view = []
            first_passenger_id = passenger_id + 1
            fares = BASE_FSC if kind == "FSC" else BASE_LCC
            refundable = kind == "FSC" and rng.random() < 0.8
            for position in range(n_pax):
                passenger_id += 1
                ptype = "ADT" if position == 0 else rng.choices(("ADT", "CHD", "INF"), (60, 30, 10))[0]
                if ptype == "ADT":
                    last = lead_last if position == 0 else rng.choice(LAST_NAMES)
                    first_name, title = rng.choice(FIRST_NAMES), rng.choice(("MR", "MS", "MRS"))
                    base, taxes = rng.choice(fares), rng.choice(TAXES)
                else:
                    last, first_name = lead_last, rng.choice(CHILD_NAMES)
                    title = "MSTR" if ptype == "CHD" else "MISS"
                    base, taxes = rng.choice(fares) / 2, TAXES[0]
                ticket = f"{prefix}-{2_500_000_000 + passenger_id:010d}"
                passengers.append(
                    {
                        "id": passenger_id,
                        "booking_id": booking_id,
                        "ref": f"P{position + 1}",
                        "position": position,
                        "ptype": ptype,
                        "title": title,
                        "first_name": first_name,
                        "last_name": last,
                        "ticket_number": ticket,
                        "base": base,
                        "taxes": taxes,
                        "refundable_taxes": taxes - TEN if taxes > TEN else ZERO,
                        "refundable": refundable,
                        "cancellation_fee": rng.choice(FEES) if refundable else ZERO,
                        "changeable": True,
                        "change_fee": rng.choice(CHANGE_FEES),
                    }
                )
                search_view.append(
                    SimpleNamespace(ticket_number=ticket, last_name=last, first_name=first_name)
                )

            # The product's own key function, on a stand-in with the attributes it reads.
            for key in sorted(
                booking_search_keys(SimpleNamespace(order_number=number, pnr=pnr, passengers=search_view))
            ):
                keys.append({"booking_id": booking_id, "account_id": account_id, "key": key})

            if bag and rng.random() < 0.25:
                ancillaries.append(
                    {
                        "booking_id": booking_id,
                        "passenger_id": first_passenger_id,
                        "segment_id": first_segment_id,
                        "type": "baggage",
                        "description": bag[1],
                        "price": bag[3],
                    }
                )

            action_required = status == "ticketed" and rng.random() < 0.004
            if action_required:  # the airline moved the first flight; not yet acknowledged
                seg = segments[first_segment_id - segments[0]["id"]]
                moved = timedelta(minutes=rng.choice((-90, -45, 30, 120)))
                changes.append(
                    {
                        "booking_id": booking_id,
                        "segment_id": first_segment_id,
                        "kind": "time_changed",
                        "detected_at": min(now, issued + timedelta(days=1)),
                        "old_departure_at": seg["departure_at"] - moved,
                        "old_departure_offset": seg["departure_offset"],
                        "new_departure_at": seg["departure_at"],
                        "new_departure_offset": seg["departure_offset"],
                        "old_arrival_at": seg["arrival_at"] - moved,
                        "old_arrival_offset": seg["arrival_offset"],
                        "new_arrival_at": seg["arrival_at"],
                        "new_arrival_offset": seg["arrival_offset"],
                        "old_status": "confirmed",
                        "new_status": "confirmed",
                        "acknowledged_at": None,
                        "acknowledged_by_id": None,
                    }
                )

            bookings.append(
                {
                    "id": booking_id,
                    "order_number": number,
                    "account_id": account_id,
                    "pnr": pnr,
                    "airline_id": airline_id,
                    "payment_channel": rng.choices(("deposit", "vcc", "vcc_passthrough"), (60, 25, 15))[0],
                    "currency": currencies[account_id],
                    "status": status,
                    "issued_at": issued,
                    "contact_email": f"ops{booking_id % 7}@agency.example",
                    "contact_phone": "+65 6123 4567",
                    **summary_of(segments[first_segment_id - segments[0]["id"] :], search_view),
                    "action_required": action_required,
                    "imported_at": issued + timedelta(minutes=5),
                    "updated_at": issued + timedelta(minutes=5),
                }
            )

        yield [
            (t_booking, bookings),
            (t_passenger, passengers),
            (t_segment, segments),
            (t_ancillary, ancillaries),
            (t_change, changes),
            (t_key, keys),
        ]
