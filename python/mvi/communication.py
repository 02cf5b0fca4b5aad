"""Notifications: `notify(msg, severity)` hands a message to the runtime (or to logging under plain python);
`call_service(...)` calls another service's entrypoint (_calls.py).
Thread-safety: safe from any thread; delivery is the backend's job and never blocks on the network here."""

import enum
import logging
import math
from collections.abc import Sequence

from . import _backend
from ._calls import call_service
from .exceptions import ServiceCallError

__all__ = ["Severity", "notify", "call_service", "ServiceCallError"]


class Severity(enum.IntEnum):
    """How serious a notification is; plain ints 0-2 are accepted wherever a Severity is."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2


_log = logging.getLogger("mvi.notify")


def _severity(severity, problems: list) -> int:
    if isinstance(severity, str) and severity.strip().upper() in Severity.__members__:
        return int(Severity[severity.strip().upper()])
    try:
        if isinstance(severity, float) and not severity.is_integer():
            raise ValueError
        value = int(severity)
    except (TypeError, ValueError, OverflowError):
        problems.append(f"severity {severity!r} is not a Severity or an int from 0 to 2: INFO is used")
        return int(Severity.INFO)
    if not 0 <= value <= 2:
        clamped = min(max(value, 0), 2)
        problems.append(f"severity {severity!r} is outside 0 (INFO) to 2 (CRITICAL): {Severity(clamped).name} is used")
        return clamped
    return value


def _timer(timer, problems: list) -> float:
    try:
        value = float(timer)
    except (TypeError, ValueError, OverflowError):
        problems.append(f"timer {timer!r} is not a number of seconds: 0 is used")
        return 0.0
    if not value >= 0 or math.isinf(value):  # also NaN
        problems.append(f"timer {timer!r} is not a number of seconds >= 0: 0 is used")
        return 0.0
    return value


def _emails(emails, problems: list) -> list[str] | None:
    if emails is None:
        return None
    if isinstance(emails, str):
        return [emails]
    if isinstance(emails, (list, tuple, set, frozenset)):
        if not all(isinstance(e, str) for e in emails):
            problems.append(f"emails {emails!r} holds something that is not a str: sent as str()")
        return [e if isinstance(e, str) else str(e) for e in emails]
    problems.append(f"emails {emails!r} is not a str or a list of str: no e-mail is sent")
    return None


def notify(msg: str, severity: Severity | int = Severity.INFO, *, dashboard: bool = True,
           emails: str | Sequence[str] | None = None, timer: float = 0) -> None:
    """Raise a notification: logged, kept by the runtime and sent to the configured sinks (SPEC §6).

    dashboard: show it on the dashboard. emails: address(es) to mail it to, when SMTP is configured. timer: seconds
    during which repeats of the same message are not mailed again. Never raises (a notification is never the reason
    a call fails): an argument that does not fit is corrected and the correction logged as a warning on `mvi.notify`
    (a negative timer is 0, an unknown severity INFO); delivery problems are logged too."""
    try:
        problems: list[str] = []
        if not isinstance(msg, str):
            problems.append(f"msg {msg!r} is not a str: sent as str(msg)")
            msg = str(msg)
        level = _severity(severity, problems)
        seconds = _timer(timer, problems)
        recipients = _emails(emails, problems)
        for problem in problems:
            _log.warning("notify: %s", problem)
        _backend.get().notify(msg, level, bool(dashboard), recipients, seconds)
    except Exception as exc:  # noqa: BLE001 - the promise is that notify() never raises
        try:
            _log.warning("notify: the notification could not be raised: %r", exc)
        except Exception:  # noqa: BLE001
            pass
