"""Notifications: `notify(msg, severity)` hands a message to the runtime (or to logging under plain python).
Thread-safety: safe from any thread; delivery is the backend's job and never blocks on the network here."""

import enum
from collections.abc import Sequence

from . import _backend

__all__ = ["Severity", "notify"]


class Severity(enum.IntEnum):
    """How serious a notification is; plain ints 0-2 are accepted wherever a Severity is."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2


def _emails(emails: str | Sequence[str] | None) -> list[str] | None:
    if emails is None:
        return None
    if isinstance(emails, str):
        emails = [emails]
    if not isinstance(emails, (list, tuple)) or not all(isinstance(e, str) for e in emails):
        raise TypeError(f"notify: emails must be a str or a list of str, got {emails!r}")
    return list(emails)


def notify(msg: str, severity: Severity | int = Severity.INFO, *, dashboard: bool = True,
           emails: str | Sequence[str] | None = None, timer: float = 0) -> None:
    """Raise a notification: logged, kept by the runtime and sent to the configured sinks (SPEC §6).

    dashboard: show it on the dashboard. emails: address(es) to mail it to, when SMTP is configured. timer: seconds
    during which repeats of the same message are not mailed again. Bad arguments raise TypeError/ValueError;
    delivery problems never raise."""
    if not isinstance(msg, str):
        raise TypeError(f"notify: msg must be a str, got {type(msg).__name__}")
    if isinstance(severity, bool) or not isinstance(severity, int):
        raise TypeError(f"notify: severity must be a Severity or an int, got {severity!r}")
    if not 0 <= severity <= 2:
        raise ValueError(f"notify: severity must be 0 (INFO), 1 (WARNING) or 2 (CRITICAL), got {severity}")
    if isinstance(timer, bool) or not isinstance(timer, (int, float)) or timer < 0:
        raise ValueError(f"notify: timer must be a number of seconds >= 0, got {timer!r}")
    _backend.get().notify(msg, int(severity), bool(dashboard), _emails(emails), float(timer))
