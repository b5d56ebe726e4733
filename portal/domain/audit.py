"""The audit trail's vocabulary: what happened to an account's security or money, in words an admin
reads. Each entry is written once (portal/services/audit.py) and never changed."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class AuditKind(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an event name, not a password)
    PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105 (an event name, not a password)
    PASSWORD_RESET = "password_reset"  # noqa: S105 (an event name, not a password)
    MFA_ENABLED = "mfa_enabled"
    MFA_DISABLED = "mfa_disabled"
    RECOVERY_CODE_USED = "recovery_code_used"
    USER_CREATED = "user_created"
    USER_CHANGED = "user_changed"
    ROLE_CHANGED = "role_changed"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_CHANGED = "account_changed"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ENABLED = "account_enabled"
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"
    ADJUSTMENT_POSTED = "adjustment_posted"


AUDIT_KIND_LABELS: Mapping[AuditKind, str] = MappingProxyType(
    {
        AuditKind.LOGIN: "Logged in",
        AuditKind.LOGIN_FAILED: "Failed login",
        AuditKind.LOGOUT: "Logged out",
        AuditKind.PASSWORD_CHANGED: "Password changed",
        AuditKind.PASSWORD_RESET_REQUESTED: "Password reset requested",
        AuditKind.PASSWORD_RESET: "Password reset",
        AuditKind.MFA_ENABLED: "Second factor turned on",
        AuditKind.MFA_DISABLED: "Second factor turned off",
        AuditKind.RECOVERY_CODE_USED: "Recovery code used",
        AuditKind.USER_CREATED: "User created",
        AuditKind.USER_CHANGED: "User changed",
        AuditKind.ROLE_CHANGED: "Role changed",
        AuditKind.USER_DISABLED: "User disabled",
        AuditKind.USER_ENABLED: "User enabled",
        AuditKind.ACCOUNT_CREATED: "Account created",
        AuditKind.ACCOUNT_CHANGED: "Account changed",
        AuditKind.ACCOUNT_DISABLED: "Account disabled",
        AuditKind.ACCOUNT_ENABLED: "Account enabled",
        AuditKind.API_KEY_CREATED: "API key created",
        AuditKind.API_KEY_REVOKED: "API key revoked",
        AuditKind.ADJUSTMENT_POSTED: "Balance adjustment",
    }
)
