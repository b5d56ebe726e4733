"""Follow-ups of refunds by the agency (SPEC 3.5): at most one per refund per day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import utcnow
from portal.extensions import db
from portal.models.types import UTCDateTime


class RefundFollowUp(db.Model):
    __tablename__ = "refund_follow_up"
    # Two clicks or two tabs on the same day make one follow-up.
    __table_args__ = (UniqueConstraint("refund_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"))
    # The calendar day in the portal's zone: "once a day" as the agency counts days.
    local_date: Mapped[date]
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
