"""Templates print and loop; they never re-decide a rule by comparing a status, a payment channel or a
role (issue 10), nor any attribute naming a state (kind, resolution, state…) against a string. Those
decisions are model properties that ask portal.domain."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "portal" / "templates"
# An attribute that names a state: its status, state, kind, resolution, role, channel, outcome or type
# (also within a longer name: refund_state, payment_channel, new_status).
_STATE_ATTRIBUTE = r"\.\w*(?:status|state|kind|resolution|role|channel|outcome|type)\w*"
_COMPARED = r"(?:==|!=|\bnot\s+in\b|\bin\b)"
_STRING = r"""(?:['"]|[(\[]\s*['"])"""  # a string literal, or a tuple or list that starts with one
DECIDING = re.compile(
    r"status *(==|!=| in )|payment_channel *(==|!=| in )|\.role *(==|!=)"
    # c.kind == 'cancelled', c.resolution != "refund", r.state in ('open', 'late'), u.role not in [...]
    rf"|{_STATE_ATTRIBUTE}\s*{_COMPARED}\s*{_STRING}"
    # the same written the other way round: 'refund' == c.resolution
    rf"|['\"]\s*{_COMPARED}\s*\w+(?:\.\w+)*{_STATE_ATTRIBUTE}"
    # Jinja's tests and filters: c.kind is eq 'x', c.kind is sameas 'x', selectattr('kind', 'eq', 'x')
    rf"|{_STATE_ATTRIBUTE}\s+is\s+(?:not\s+)?(?:eq|equalto|ne|sameas|in)\b"
    r"|(?:select|reject)attr\(\s*['\"]\w*(?:status|state|kind|resolution|role|channel|outcome|type)\w*['\"]"
    r"\s*,\s*['\"](?:eq|equalto|==|ne|!=|sameas|in)['\"]"
)

# An amount handed to the money filter with a separate currency: Money carries its own.
MONEY_WITH_CURRENCY = re.compile(r"\|\s*money\s*\(")


def _matches(pattern: re.Pattern) -> list[str]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}")
    return found


def test_the_pattern_finds_what_it_forbids():
    assert DECIDING.search("{% if r.status == 'requested' %}")
    assert DECIDING.search("{% if booking.payment_channel != 'deposit' %}")
    assert DECIDING.search("{% if current_user.role == 'admin' %}")
    assert MONEY_WITH_CURRENCY.search("{{ r.estimated_amount|money(r.currency) }}")
    assert not DECIDING.search("{{ r.status_label }}")
    # Any attribute that names a state, against a string literal, whichever way and however compared.
    for deciding in (
        "{{ 'Cancelled' if c.kind == 'cancelled' else 'New times' }}",
        "{%- elif c.resolution == 'refund' -%}",
        '{% if c.resolution=="refund" %}',
        "{% if change.state != 'open' %}",
        "{% if r.refund_state in ('refunded', 'cancelled') %}",
        "{% if o.status not in ['confirmed'] %}",
        "{% if booking.ticket_type == 'eticket' %}",
        "{% if e.outcome in 'approved rejected' %}",
        "{% if 'refund' == c.resolution %}",
        "{% if 'open' != change.state %}",
        "{% if c.kind is eq 'cancelled' %}",
        "{% if c.kind is sameas 'cancelled' %}",
        "{% for c in changes|selectattr('kind', 'equalto', 'cancelled') %}",
        "{% for c in changes|rejectattr('resolution', '==', 'refund') %}",
    ):
        assert DECIDING.search(deciding), deciding
    # Asking the model, or comparing what is not a state, decides nothing.
    for asking in (
        "{% if c.is_cancellation %}{{ c.kind_label }}{% endif %}",
        "{% elif c.took_free_refund %}",
        "{% if tab == 'details' %}",
        "{% if request.endpoint == 'home.home' %}",
        "{{ 'error' if order_message[0] == 'error' else 'ok' }}",
        "{% set open_changes = booking.schedule_changes|selectattr('acknowledged_at', 'none')|list %}",
        "{{ c.kind_label|lower }}",
    ):
        assert not DECIDING.search(asking), asking


def test_no_template_compares_a_state_channel_or_role():
    assert _matches(DECIDING) == []


def test_no_template_pairs_an_amount_with_a_currency():
    assert _matches(MONEY_WITH_CURRENCY) == []
