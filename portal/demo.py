"""Demo data: two client accounts, one user of each role, and 40+ bookings made to cover every case.

Bookings are generated relative to the current time (so one always departs within 24 hours) and go
through the same importer as real files, together with the format's example file.
"""

from __future__ import annotations

import json
import random
import secrets
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from portal.domain.refunds import RefundPath
from portal.extensions import db
from portal.models import Account, Airline, Booking, RequestCategory, User
from portal.services.auth import create_account, create_user
from portal.services.baggage import catalogue, create_baggage_order
from portal.services.bookings import import_bookings
from portal.services.refunds import apply_action, create_refund, whole_passengers
from portal.services.requests import change_status, create_request, post_message, post_quote, take

EXAMPLE = Path(__file__).parent / "demo_bookings.example.json"

AIRLINES = [
    {
        "code": "SQ",
        "name": "Singapore Airlines",
        "type": "FSC",
        "manage_booking_url": "https://www.singaporeair.com/en_UK/sg/manage-booking/",
        "baggage_options": [
            {
                "code": "XBAG10",
                "description": "Extra 10 kg",
                "weight_kg": 10,
                "price": "95.00",
                "currency": "SGD",
            }
        ],
    },
    {
        "code": "TR",
        "name": "Scoot",
        "type": "LCC",
        "manage_booking_url": "https://www.flyscoot.com/en/manage-booking",
        "baggage_options": [
            {
                "code": "BG20",
                "description": "Checked bag 20 kg",
                "weight_kg": 20,
                "price": "38.00",
                "currency": "SGD",
            },
            {
                "code": "BG30",
                "description": "Checked bag 30 kg",
                "weight_kg": 30,
                "price": "55.00",
                "currency": "SGD",
            },
        ],
    },
    {
        "code": "MH",
        "name": "Malaysia Airlines",
        "type": "FSC",
        "manage_booking_url": "https://www.malaysiaairlines.com/my/en/manage.html",
        "baggage_options": [
            {
                "code": "XB15",
                "description": "Extra 15 kg",
                "weight_kg": 15,
                "price": "120.00",
                "currency": "MYR",
            }
        ],
    },
    {
        "code": "AK",
        "name": "AirAsia",
        "type": "LCC",
        "manage_booking_url": "https://www.airasia.com/member/my-bookings",
        "baggage_options": [
            {
                "code": "PBB20",
                "description": "Checked baggage 20 kg",
                "weight_kg": 20,
                "price": "65.00",
                "currency": "MYR",
            },
            {
                "code": "PBB40",
                "description": "Checked baggage 40 kg",
                "weight_kg": 40,
                "price": "150.00",
                "currency": "MYR",
            },
        ],
    },
]

# (origin, destination, UTC offset hours at origin, flight minutes)
ROUTES = {
    "SQ": [
        ("SIN", "BKK", 8, 7, 150),
        ("SIN", "HKG", 8, 8, 235),
        ("SIN", "NRT", 8, 9, 410),
        ("SIN", "SYD", 8, 11, 470),
    ],
    "TR": [("SIN", "KIX", 8, 9, 395), ("SIN", "DPS", 8, 8, 155), ("SIN", "TPE", 8, 8, 285)],
    "MH": [("KUL", "LHR", 8, 0, 820), ("KUL", "SIN", 8, 8, 60), ("KUL", "CGK", 8, 7, 120)],
    "AK": [("KUL", "PEN", 8, 8, 60), ("KUL", "BKI", 8, 8, 150), ("KUL", "DMK", 8, 7, 125)],
}
NAMES = [
    ("TAN", "WEI MING"),
    ("LIM", "HUI LING"),
    ("NAIR", "ARJUN"),
    ("WONG", "KAR WAI"),
    ("ONG", "BEE LIAN"),
    ("RAHMAN", "AZIZ"),
    ("KUMAR", "PRIYA"),
    ("CHEN", "JIA HUI"),
    ("LEE", "MIN JUN"),
    ("SANTOS", "MARIA"),
    ("GOH", "KENG SWEE"),
    ("ISMAIL", "NUR AISYAH"),
    ("HO", "YEN NI"),
    ("PEREIRA", "JOAO"),
    ("SMITH", "OLIVIA"),
]
CONNECTIONS = {
    "SQ": (("KUL", "SIN", 8, 8, 60), ("SIN", "NRT", 8, 9, 410)),
    "TR": (("KUL", "SIN", 8, 8, 65), ("SIN", "TPE", 8, 8, 285)),
    "MH": (("PEN", "KUL", 8, 8, 55), ("KUL", "LHR", 8, 0, 820)),
    "AK": (("SIN", "KUL", 8, 8, 60), ("KUL", "BKI", 8, 8, 150)),
}
TICKET_PREFIX = {"SQ": "618", "TR": "668", "MH": "232", "AK": "807"}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _segment(ref, airline, route, departure_utc, flight_no, cabin="Y", status="confirmed", reverse=False):
    origin, dest, off_o, off_d, minutes = route
    if reverse:
        origin, dest, off_o, off_d = dest, origin, off_d, off_o
    dep = departure_utc.astimezone(timezone(timedelta(hours=off_o)))
    arr = (departure_utc + timedelta(minutes=minutes)).astimezone(timezone(timedelta(hours=off_d)))
    return {
        "ref": ref,
        "flight_number": f"{airline}{flight_no}",
        "origin": origin,
        "destination": dest,
        "departure": _iso(dep),
        "arrival": _iso(arr),
        "cabin": cabin,
        "status": status,
    }


def _passenger(ref, ptype, names, ticket, base, refundable, rng):
    last, first = names
    taxes = rng.choice([40, 62, 85, 110])
    title = {"ADT": rng.choice(["MR", "MS", "MRS"]), "CHD": "MSTR", "INF": "MISS"}[ptype]
    if ptype == "INF":
        base, taxes = base // 10, 15
    elif ptype == "CHD":
        base = base * 3 // 4
    fee = 0 if not refundable else rng.choice([50, 100, 150])
    return {
        "ref": ref,
        "type": ptype,
        "title": title,
        "first_name": first,
        "last_name": last,
        "ticket_number": ticket,
        "fare": {"base": f"{base}.00", "taxes": f"{taxes}.50", "refundable_taxes": f"{taxes - 10}.00"},
        "fare_rule": {
            "refundable": refundable,
            "cancellation_fee": f"{fee}.00",
            "changeable": True,
            "change_fee": f"{rng.choice([0, 45, 80])}.00",
        },
    }


def build_bookings(now: datetime, seed: int = 7) -> list[dict]:
    """About 44 bookings for accounts DEMO (SGD) and GLOBE (MYR), relative to `now`."""
    rng = random.Random(seed)
    today = now.replace(minute=0, second=0, microsecond=0)
    bookings = []
    serial = 100
    for i in range(44):
        account, currency = ("DEMO", "SGD") if i % 3 else ("GLOBE", "MYR")
        airline = (["SQ", "TR"] if currency == "SGD" else ["MH", "AK"])[i % 2]
        route = rng.choice(ROUTES[airline])
        channel = ["deposit", "deposit", "vcc", "vcc_passthrough"][i % 4]
        status = "ticketed"
        issued = today - timedelta(days=rng.randint(3, 40), hours=rng.randint(0, 12))
        # Special cases first, then a spread of departures from next week to three months out.
        if i == 0:
            departure = today + timedelta(hours=20)  # departs within 24 hours
        elif i == 1:
            departure = today - timedelta(days=2)  # already flown
            issued = today - timedelta(days=30)
        elif i == 2:
            departure = today + timedelta(days=20)
            status = "cancelled"
        else:
            departure = today + timedelta(days=rng.randint(5, 90), hours=rng.randint(0, 23))
        round_trip = i % 2 == 0 or i in (0, 1)
        if i % 7 == 3:  # a connecting journey: two segments out, two back
            first, second = CONNECTIONS[airline]
            out2 = departure + timedelta(minutes=first[4] + 150)
            segments = [
                _segment("S1", airline, first, departure, 200 + i),
                _segment("S2", airline, second, out2, 300 + i),
            ]
            back = departure + timedelta(days=rng.randint(5, 12))
            segments += [
                _segment("S3", airline, second, back, 301 + i, reverse=True),
                _segment(
                    "S4", airline, first, back + timedelta(minutes=second[4] + 150), 201 + i, reverse=True
                ),
            ]
        else:
            segments = [_segment("S1", airline, route, departure, 100 + i)]
            if round_trip:
                # The flown booking came back yesterday; the others return days later.
                back = departure + timedelta(days=1 if i == 1 else rng.randint(3, 14))
                segments.append(_segment("S2", airline, route, back, 101 + i, reverse=True))
        party = ["ADT"]
        if i % 5 == 0:
            party = ["ADT", "ADT", "CHD", "INF"]
        elif i % 5 == 4:
            party = ["ADT", "ADT"]
        refundable = airline in ("SQ", "MH") and i % 6 != 5
        base = (
            rng.choice([120, 180, 260, 420, 680, 1250])
            if airline in ("SQ", "MH")
            else rng.choice([69, 99, 129])
        )
        passengers = []
        lead = NAMES[(i * 2) % len(NAMES)]
        for n, ptype in enumerate(party):
            serial += 1
            if n == 0:
                names = lead
            elif ptype == "ADT":
                names = NAMES[(i * 2 + 1) % len(NAMES)]
            else:
                names = (lead[0], ["ETHAN", "CHLOE", "AIDEN", "SOFIA"][(i + n) % 4])
            passengers.append(
                _passenger(
                    f"P{n + 1}",
                    ptype,
                    names,
                    f"{TICKET_PREFIX[airline]}-25{serial:08d}",
                    base,
                    refundable,
                    rng,
                )
            )
        ancillaries = []
        if airline in ("TR", "AK") and i % 3 == 1:
            option = AIRLINES[[a["code"] for a in AIRLINES].index(airline)]["baggage_options"][0]
            ancillaries.append(
                {
                    "passenger": "P1",
                    "segment": "S1",
                    "type": "baggage",
                    "description": option["description"],
                    "price": option["price"],
                }
            )
        bookings.append(
            {
                "order_number": f"AT{now:%y%m}{1000 + i:04d}",
                "account": account,
                "pnr": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6)),
                "airline": airline,
                "payment_channel": channel,
                "currency": currency,
                "status": status,
                "issued_at": _iso(issued.astimezone(timezone(timedelta(hours=8)))),
                "contact": {"email": f"ops@{account.lower()}-travel.example", "phone": "+65 6123 4567"},
                "passengers": passengers,
                "segments": segments,
                "ancillaries": ancillaries,
            }
        )
    return bookings


def demo_document(now: datetime) -> dict:
    return {"format": "portal-bookings/1", "airlines": AIRLINES, "bookings": build_bookings(now)}


DEMO_USERS = [
    ("agent@demo-travel.example", "Dana Demo", "agent", "DEMO"),
    ("agent@globe-travel.example", "Gopal Globe", "agent", "GLOBE"),
    ("ops@atlas.example", "Omar Operations", "operations", None),
    ("admin@atlas.example", "Ada Admin", "admin", None),
    ("boss@demo-travel.example", "Bea Boss", "agency_admin", "DEMO"),
]


def _demo_bookings(airline: str) -> list[Booking]:
    """DEMO deposit bookings of `airline` whose every segment is still ahead, oldest order first."""
    rows = db.session.scalars(
        select(Booking)
        .join(Booking.account)
        .join(Booking.airline)
        .where(Account.code == "DEMO", Booking.payment_channel == "deposit", Booking.status == "ticketed")
        .where(
            Airline.code == airline,
            Booking.first_departure_date > (datetime.now(UTC) + timedelta(days=2)).date(),
        )
        .order_by(Booking.order_number)
    ).all()
    return [b for b in rows if len(b.passengers) <= 2]


def _work_in_progress(document: dict, now: datetime) -> None:
    """Refunds, requests, baggage and a schedule change in every state, so each screen has something."""
    agent = db.session.scalar(select(User).where(User.email == DEMO_USERS[0][0]))
    ops = db.session.scalar(select(User).where(User.email == DEMO_USERS[2][0]))
    fsc, lcc = _demo_bookings("SQ"), _demo_bookings("TR")

    def refund(booking, path, at):
        made = create_refund(
            booking,
            whole_passengers(booking, [p.ref for p in booking.passengers], at),
            path=path,
            user=agent,
            now=at,
        )
        db.session.flush()
        return made

    # Waiting for operations for 5 hours: the 4-hour job flags it overdue.
    refund(fsc[0], RefundPath.INSTANT_QUOTE, now - timedelta(hours=5))
    # Paid back: submitted, recorded and credited to the balance.
    paid = refund(fsc[1], RefundPath.INSTANT_QUOTE, now - timedelta(days=30))
    apply_action(
        paid, "mark_submitted_to_airline", user=ops, now=now - timedelta(days=29), reference="SQ-RFD-88213"
    )
    amount = (paid.estimated_amount or 0) + 10
    apply_action(
        paid,
        "record_airline_refund",
        user=ops,
        now=now - timedelta(days=3),
        amount=str(amount),
        refunded_on=(now - timedelta(days=3)).date(),
        reference="SQ-PAY-55102",
    )
    apply_action(paid, "credit_balance", user=ops, now=now - timedelta(days=2))
    # Submitted to the airline 25 days ago and still open: Follow up is available.
    waiting = refund(fsc[2], RefundPath.INSTANT_QUOTE, now - timedelta(days=25))
    apply_action(
        waiting, "mark_submitted_to_airline", user=ops, now=now - timedelta(days=25), reference="SQ-RFD-80117"
    )
    # Agent & passenger initiated through a request, three days ago.
    categories = {c.code: c for c in db.session.scalars(select(RequestCategory))}
    create_request(
        fsc[3],
        categories["agent_refund"],
        user=agent,
        now=now - timedelta(days=3),
        description="The passenger cancelled with the airline directly; please refund us when it pays.",
        passenger_refs=[p.ref for p in fsc[3].passengers],
    )
    # A Cancel & Refund request with a quote from operations waiting for the agency.
    quoted = create_request(
        fsc[4],
        categories["cancel_refund"],
        user=agent,
        now=now - timedelta(days=1),
        description="Passenger has a medical emergency; please quote a refund.",
        passenger_refs=[fsc[4].passengers[0].ref],
    )
    take(quoted, user=ops, now=now - timedelta(hours=20))
    post_quote(
        quoted,
        user=ops,
        amounts={fsc[4].passengers[0].ref: "210.00"},
        valid_until=(now + timedelta(days=5)).date(),
        note="Airline waives half the fee on medical grounds.",
        now=now - timedelta(hours=19),
    )
    # A name correction in progress, with a reply from operations.
    name = create_request(
        lcc[0],
        categories["name_correction"],
        user=agent,
        now=now - timedelta(hours=30),
        description="First name misspelt: should be WEI MING, not WEI MNG.",
        passenger_refs=[lcc[0].passengers[0].ref],
    )
    take(name, user=ops, now=now - timedelta(hours=29))
    post_message(
        name,
        user=ops,
        body="Checking with the airline; a fee of SGD 30 may apply.",
        now=now - timedelta(hours=28),
    )
    post_message(
        name,
        user=ops,
        body="Scoot usually accepts one-letter fixes.",
        internal=True,
        now=now - timedelta(hours=28),
    )
    change_status(name, "mark_processed", user=ops, now=now - timedelta(hours=2))
    # Extra baggage waiting for operations.
    offered = [o.option for o in catalogue(lcc[1]) if o.selectable]
    if offered:
        create_baggage_order(
            lcc[1],
            passenger_ref=lcc[1].passengers[0].ref,
            segment_ref=lcc[1].segments[0].ref,
            option_id=offered[0].id,
            user=agent,
            now=now - timedelta(hours=3),
        )
    # The airline moved a flight: re-importing the booking records the change (Action required).
    moved = next(b for b in document["bookings"] if b["order_number"] == lcc[2].order_number)
    for field in ("departure", "arrival"):
        moved["segments"][0][field] = (
            datetime.fromisoformat(moved["segments"][0][field]) + timedelta(hours=2, minutes=15)
        ).isoformat()
    import_bookings(json.dumps({"format": "portal-bookings/1", "bookings": [moved]}), now=now)
    db.session.flush()


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Booking))


def load_demo_data(now: datetime | None = None) -> list[tuple[str, str, str]]:
    """Create the demo accounts, users and bookings; returns (email, role, password) for each user.

    Passwords are random per installation and kept in instance/demo-logins.txt so `make run` can
    print them again; nothing is fixed in code.
    """
    now = now or datetime.now(UTC)
    create_account("DEMO", "Demo Travel Pte Ltd", "SGD", service_fee=15)
    create_account("GLOBE", "Globe Holidays Sdn Bhd", "MYR", service_fee=20)
    logins = []
    for email, name, role, account in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        create_user(email, name, role, password, account)
        logins.append((email, role, password))
    if EXAMPLE.exists():
        import_bookings(EXAMPLE.read_bytes(), now=now)
    document = demo_document(now)
    import_bookings(json.dumps(document), now=now)
    _work_in_progress(document, now)
    path = Path(current_app.instance_path) / "demo-logins.txt"
    path.write_text("".join(f"{role:<12} {email:<30} {password}\n" for email, role, password in logins))
    path.chmod(0o600)
    return logins
