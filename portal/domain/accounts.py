"""E-mail addresses: one check for a user's address and for an account's lists of addresses."""

from __future__ import annotations

import re

from portal.domain.errors import DomainError

# Deliberately plain: one @, a dot in the domain, no spaces or control characters; the mail server is
# the judge of the rest.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
MAX_EMAIL_LENGTH = 254
MAX_LISTED_ADDRESSES = 20


def normalise_email(email: str) -> str:
    """An address as it is stored and compared: trimmed and lower case."""
    return email.strip().lower()


def valid_email(address: str) -> bool:
    """True for an address that looks deliverable (one @, a dotted domain, no spaces), ≤ 254 characters."""
    return len(address) <= MAX_EMAIL_LENGTH and bool(_EMAIL.match(address))


def parse_email_list(raw: str | None, *, field: str | None = None) -> list[str]:
    """Addresses separated by commas, semicolons, spaces or new lines: normalised, duplicates dropped,
    in the order given. Refuses (naming the address) anything that is not one, and more than 20."""
    addresses: list[str] = []
    for part in re.split(r"[,;\s]+", raw or ""):
        if not part:
            continue
        address = normalise_email(part)
        if not valid_email(address):
            raise DomainError(f"“{part[:80]}” is not an e-mail address.", field=field)
        if address not in addresses:
            addresses.append(address)
    if len(addresses) > MAX_LISTED_ADDRESSES:
        raise DomainError(f"At most {MAX_LISTED_ADDRESSES} addresses.", field=field)
    return addresses
