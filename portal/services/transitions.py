"""The one way a state changes under concurrency: a conditional UPDATE whose row count says who won.

Two operators crediting and rejecting the same refund, two schedulers completing the same request, two
clicks confirming the same baggage order: each claims the row "while it is still in the state I saw";
exactly one UPDATE matches, the others find it changed and are refused by their caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db


def _matches(model, expected: Mapping[str, object]) -> list:
    return [
        getattr(model, name).is_(None) if value is None else getattr(model, name) == value
        for name, value in expected.items()
    ]


def claim_rows(
    model, ids: Iterable[int], *, expected: Mapping[str, object], values: Mapping[str, object]
) -> int:
    """Set `values` on the rows among `ids` whose columns still hold `expected`; how many were claimed."""
    ids = list(ids)
    if not ids:
        return 0
    return db.session.execute(
        update(model)
        .where(model.id.in_(ids), *_matches(model, expected))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount


def claim(obj, *, expected: Mapping[str, object], values: Mapping[str, object]) -> bool:
    """Claim one loaded object's row. True: this caller won and `obj` now holds `values`.
    False: someone changed it first, and `obj` is refreshed to show what they did."""
    won = claim_rows(type(obj), [obj.id], expected=expected, values=values) == 1
    if won:
        for name, value in values.items():
            set_committed_value(obj, name, value)
    else:
        db.session.refresh(obj)
    return won
