"""Second factor services on the database: the secret at rest, codes used once (also when two requests
race), recovery codes used once, failures counted by the login throttle, and the audit trail."""

import pyotp
import pytest
from sqlalchemy import select

from portal.domain.audit import AuditKind
from portal.models import AuditEvent, RecoveryCode, SecondFactor
from portal.services import mfa, throttle


def enrol(db, user):
    """Set up and confirm a second factor through the services; returns (secret, recovery codes)."""
    mfa.start_enrolment(user)
    secret = mfa.enrolment_secret(user)
    codes = mfa.confirm_enrolment(user, pyotp.TOTP(secret).at(mfa.utcnow()))
    db.session.commit()
    return secret, codes


def events(db, kind):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)).all()


def test_the_secret_is_stored_encrypted_and_not_shown_after_enrolment(db, clock, world):
    mfa.start_enrolment(world.agent)
    secret = mfa.enrolment_secret(world.agent)
    stored = db.session.scalar(select(SecondFactor.secret_encrypted))
    assert len(secret) == 32 and secret not in stored
    mfa.confirm_enrolment(world.agent, pyotp.TOTP(secret).at(clock.now))
    db.session.commit()
    assert mfa.enrolment_secret(world.agent) is None
    assert mfa.is_enrolled(world.agent)


def test_recovery_codes_are_stored_as_hashes_only(db, clock, world):
    _, codes = enrol(db, world.agent)
    hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(codes) == len(hashes) == 10
    assert not {c.replace("-", "") for c in codes} & set(hashes)


def test_a_code_is_accepted_once_then_refused_within_its_window(db, clock, world):
    secret, _ = enrol(db, world.agent)
    clock.advance(seconds=30)
    now_code = pyotp.TOTP(secret).at(clock.now)
    mfa.verify_login(world.agent, now_code, "10.0.0.1")
    db.session.commit()
    clock.advance(seconds=20)  # the same code, still inside ±1 step
    with pytest.raises(mfa.SecondFactorError, match="already used"):
        mfa.verify_login(world.agent, now_code, "10.0.0.1")


def test_the_step_is_claimed_atomically(db, clock, world):
    """Two requests checked the same code at once: the second to write its step finds it taken (the
    row in the database decides, not what either request had read)."""
    enrol(db, world.agent)
    clock.advance(seconds=30)
    factor = mfa.second_factor_of(world.agent)
    step = mfa.time_step(clock.now)
    assert mfa._claim_step(factor, step)
    assert not mfa._claim_step(factor, step)
    assert not mfa._claim_step(factor, step - 1)
    assert mfa._claim_step(factor, step + 1)


def test_a_recovery_code_logs_in_once(db, clock, world):
    _, codes = enrol(db, world.agent)
    mfa.verify_login(world.agent, codes[0], "10.0.0.1")
    db.session.commit()
    with pytest.raises(mfa.SecondFactorError, match="already used"):
        mfa.verify_login(world.agent, codes[0], "10.0.0.1")
    used = events(db, AuditKind.RECOVERY_CODE_USED)
    assert len(used) == 1 and used[0].detail == "9 recovery codes left"
    assert used[0].subject_user_id == world.agent.id


def test_wrong_codes_count_towards_the_login_throttle(db, clock, world):
    enrol(db, world.agent)
    for _ in range(5):
        with pytest.raises(mfa.SecondFactorError, match="not right"):
            mfa.verify_login(world.agent, "000000", "10.0.0.1")
        db.session.commit()
    # The five codes were counted like five passwords: the pair's counter is at its limit.
    assert not throttle.admit(world.agent.email, "10.0.0.1", clock.now).allowed
    failures = events(db, AuditKind.LOGIN_FAILED)
    assert len(failures) == 5 and {f.email for f in failures} == {world.agent.email}
    # Paused: even the right code is refused until the window has passed.
    secret_code = "123456"
    with pytest.raises(mfa.SecondFactorError, match="paused"):
        mfa.verify_login(world.agent, secret_code, "10.0.0.1")


def test_enable_disable_and_reset_are_in_the_audit_trail(db, clock, world):
    secret, _ = enrol(db, world.agent)
    assert [e.actor_id for e in events(db, AuditKind.MFA_ENABLED)] == [world.agent.id]
    clock.advance(seconds=30)
    with pytest.raises(mfa.SecondFactorError, match="password"):
        mfa.disable(world.agent, "wrong password", pyotp.TOTP(secret).at(clock.now))
    mfa.disable(world.agent, "correct horse battery", pyotp.TOTP(secret).at(clock.now))
    db.session.commit()
    assert not mfa.is_enrolled(world.agent)
    assert db.session.scalar(select(RecoveryCode.id)) is None

    enrol(db, world.ops)
    token = world.ops.session_token
    mfa.reset(world.ops, by=world.admin)
    db.session.commit()
    assert not mfa.is_enrolled(world.ops) and world.ops.session_token != token
    disabled = events(db, AuditKind.MFA_DISABLED)
    assert [(e.actor_id, e.subject_user_id) for e in disabled] == [
        (world.agent.id, world.agent.id),
        (world.admin.id, world.ops.id),
    ]
    assert "Reset by an administrator" in disabled[1].detail


def test_a_set_up_never_confirmed_is_nothing_to_reset(db, clock, world):
    mfa.start_enrolment(world.agent)
    with pytest.raises(mfa.Conflict, match="no two-step verification"):
        mfa.reset(world.agent, by=world.admin)


def test_an_admin_cannot_reset_their_own_second_factor(db, clock, world):
    enrol(db, world.admin)
    with pytest.raises(mfa.SecondFactorError, match="own"):
        mfa.reset(world.admin, by=world.admin)


def test_a_changed_secret_key_sends_the_user_to_a_recovery_code(app, db, clock, world, monkeypatch):
    _, codes = enrol(db, world.agent)
    monkeypatch.setitem(app.config, "SECRET_KEY", "rotated")
    clock.advance(seconds=30)
    with pytest.raises(mfa.SecondFactorError, match="recovery codes"):
        mfa.verify_login(world.agent, "123456", "10.0.0.1")
    mfa.verify_login(world.agent, codes[1], "10.0.0.1")


def test_staff_must_enrol_only_when_required(app, db, clock, world, monkeypatch):
    assert not mfa.must_enrol_first(world.ops)
    monkeypatch.setitem(app.config, "REQUIRE_MFA_FOR_STAFF", True)
    assert mfa.must_enrol_first(world.ops) and mfa.must_enrol_first(world.admin)
    assert not mfa.must_enrol_first(world.agent)
    enrol(db, world.ops)
    assert not mfa.must_enrol_first(world.ops)
