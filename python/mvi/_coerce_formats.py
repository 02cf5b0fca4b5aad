"""Lax coercion of the string formats: base64 bytes, ISO 8601 datetimes, dates and times, UUIDs (the same accepted
forms and error types as src/schema/formats.cpp and validator.cpp). Values that already are the target type pass
through. Pure functions."""

import base64
import datetime
import re
import uuid

from ._invalid import Invalid, mismatch, short
from ._isotime import SPACES, from_unix, parse_date, parse_datetime, parse_time

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*")
_URLSAFE = str.maketrans("-_", "+/")
_UUID_HEX = re.compile(r"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def _from_text(text, parse, error, expected):
    parsed = parse(text)
    if parsed is None:
        raise Invalid(error, f"expected {expected}, got {short(text)}")
    return parsed


def _parse_base64(text):
    text = text.rstrip("=")
    if len(text) % 4 != 1 and _BASE64.fullmatch(text):
        return base64.b64decode(text.translate(_URLSAFE) + "=" * (-len(text) % 4))
    return None


def _parse_uuid(text):
    text = text.strip(SPACES)
    text = text[9:] if text.startswith("urn:uuid:") else text
    if len(text) >= 2 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1]
    return uuid.UUID(text) if _UUID_HEX.fullmatch(text) else None


def to_bytes(value, desc, classes):
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return _from_text(value, _parse_base64, "base64_decode", "a base64 string")
    raise mismatch(desc, value)


def to_datetime(value, desc, classes):
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        return _from_text(value, parse_datetime, "datetime_parsing", "datetime as an ISO 8601 string")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed = from_unix(value)  # lax mode: Unix seconds, UTC
        if parsed is None:
            raise Invalid("datetime_parsing", f"expected datetime, got Unix time {short(value)} out of range")
        return parsed
    raise mismatch(desc, value)


def to_date(value, desc, classes):
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0) and value.tzinfo is None:
            return value.date()
        raise Invalid("date_from_datetime_inexact", f"expected date, got a datetime with a time of day {short(value)}")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        return _from_text(value, parse_date, "date_parsing", "date as YYYY-MM-DD")
    raise mismatch(desc, value)


def _text_format(target, parse, error, expected):
    """The coercer of a kind whose values are `target` objects or text that `parse` reads."""

    def coerce_text(value, desc, classes):
        if isinstance(value, target):
            return value
        if isinstance(value, str):
            return _from_text(value, parse, error, expected)
        raise mismatch(desc, value)

    return coerce_text


to_time = _text_format(datetime.time, parse_time, "time_parsing", "time as HH:MM[:SS[.ffffff]][offset]")
to_uuid = _text_format(uuid.UUID, _parse_uuid, "uuid_parsing", "a UUID string")
