"""HTTPException: raised by an entrypoint to answer with a chosen status and `{"detail": detail}`.
ValidationError: raised by a direct call of an entrypoint whose arguments do not fit its annotations.
Thread-safety: plain exception objects; nothing shared."""

import http
from collections.abc import Iterable
from typing import Any


class HTTPException(Exception):
    """Raise it in an entrypoint to answer with `status_code` and the body `{"detail": detail}`; `detail` is any
    JSON-able value (default: the status's reason phrase), `headers` extra response headers."""

    def __init__(self, status_code: int, detail: Any = None, headers: dict[str, str] | None = None) -> None:
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise TypeError(f"HTTPException: status_code must be an int, got {status_code!r}")
        if not 100 <= status_code <= 599:
            raise ValueError(f"HTTPException: status_code must be 100-599, got {status_code}")
        if detail is None:
            try:
                detail = http.HTTPStatus(status_code).phrase
            except ValueError:  # a valid but unregistered code, e.g. 499
                detail = f"HTTP {status_code}"
        if headers is not None and not isinstance(headers, dict):
            raise TypeError(f"HTTPException: headers must be a dict, got {type(headers).__name__}")
        super().__init__(status_code, detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers) if headers is not None else None

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class ValidationError(ValueError):
    """Arguments of a direct entrypoint call that do not fit its annotations (the HTTP path answers 422).
    `errors()` lists each problem as {"type": pydantic's error type, "loc": (argument, *path inside it),
    "msg": text}, the type and location the HTTP path reports under "body"."""

    def __init__(self, label: str, errors: Iterable[tuple[Any, ...]]) -> None:
        # each error is (loc, msg, type); (loc, msg) alone is a "value_error", as pydantic calls an unnamed one
        self._errors = [{"type": str(rest[0]) if rest else "value_error", "loc": tuple(loc), "msg": msg}
                        for loc, msg, *rest in errors]
        self.label = label
        lines = [f"{_loc_text(e['loc'])}: {e['msg']}" for e in self._errors]
        count = len(lines)
        super().__init__(f"{label}: {count} validation error{'s' if count != 1 else ''}\n  " + "\n  ".join(lines))

    def errors(self) -> list[dict[str, Any]]:
        """Each problem as {"type": ..., "loc": (argument, *path inside it), "msg": text}, in the order found."""
        return [dict(e) for e in self._errors]


def _loc_text(loc):
    if not loc:
        return "(arguments)"
    return str(loc[0]) + "".join(f"[{k!r}]" for k in loc[1:])


class ServiceCallError(Exception):
    """call_service() could not get an answer from the other service, or got an error status.
    `url` is what was called; `status_code` the HTTP status (None when no answer came); `detail` the answer's
    "detail" (or its text), or why there was no answer."""

    def __init__(self, url: str, status_code: int | None, detail: Any) -> None:
        self.url = url
        self.status_code = status_code
        self.detail = detail
        what = f"answered {status_code}" if status_code is not None else "failed"
        super().__init__(f"call to {url} {what}: {detail}")
