"""Templates print and loop; they never re-decide a rule by comparing a status, a payment channel or a
role (issue 10). Those decisions are model properties that ask portal.domain."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "portal" / "templates"
DECIDING = re.compile(r"status *(==|!=| in )|payment_channel *(==|!=| in )|\.role *(==|!=)")
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


def test_no_template_compares_a_status_channel_or_role():
    assert _matches(DECIDING) == []


def test_no_template_pairs_an_amount_with_a_currency():
    assert _matches(MONEY_WITH_CURRENCY) == []
