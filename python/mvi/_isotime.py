"""ISO 8601 text -> datetime/date/time, accepting what src/schema/formats.cpp accepts: `T`, `t` or a space between
date and time, seconds and fraction optional (cut to microseconds), `Z` or a +HH[:MM] offset, whitespace around.
Pure functions over compiled patterns; thread-safe."""

import datetime
import math
import re

_DATE_RE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_TIME_RE = r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)?"
_DATE = re.compile(_DATE_RE)
_TIME = re.compile(_TIME_RE)
_DATETIME = re.compile(f"{_DATE_RE}(?:[Tt ]{_TIME_RE})?")
_MAX_UNIX = 253402300799.0  # 9999-12-31T23:59:59Z
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
SPACES = " \t\n\v\f\r"  # C's isspace(), what src/schema/formats.cpp trims; str.strip() would take Unicode spaces too


def _time_parts(groups):
    """(hour, minute, second, microsecond, tzinfo) from _TIME_RE's groups; ValueError when out of range."""
    hour, minute, second, fraction, zulu, sign, off_h, off_m = groups
    hour, minute, second = int(hour), int(minute), int(second or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError("time out of range")
    micro = int((fraction or "")[:6].ljust(6, "0"))
    tz = None
    if zulu:
        tz = datetime.timezone.utc
    elif sign:
        oh, om = int(off_h), int(off_m or 0)
        if oh > 23 or om > 59:
            raise ValueError("offset out of range")
        delta = datetime.timedelta(hours=oh, minutes=om)
        tz = datetime.timezone(-delta if sign == "-" else delta) if delta else datetime.timezone.utc
    return hour, minute, second, micro, tz


def _parse(pattern, text, build):
    match = pattern.fullmatch(text.strip(SPACES))
    if match is None:
        return None
    try:
        return build(match.groups())
    except ValueError:  # matched the shape, but a field is out of range (month 13, Feb 30, 25:00)
        return None


def _build_datetime(groups):
    day = datetime.date(int(groups[0]), int(groups[1]), int(groups[2]))
    if groups[3] is None:
        return datetime.datetime(day.year, day.month, day.day)
    hour, minute, second, micro, tz = _time_parts(groups[3:])
    return datetime.datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=tz)


def _build_time(groups):
    hour, minute, second, micro, tz = _time_parts(groups)
    return datetime.time(hour, minute, second, micro, tzinfo=tz)


def parse_datetime(text):
    """`YYYY-MM-DD[(T|t| )HH:MM[:SS[.f]][offset]]` as a datetime (naive without an offset); None if invalid."""
    return _parse(_DATETIME, text, _build_datetime)


def parse_date(text):
    """`YYYY-MM-DD` as a date; None if invalid."""
    return _parse(_DATE, text, lambda g: datetime.date(int(g[0]), int(g[1]), int(g[2])))


def parse_time(text):
    """`HH:MM[:SS[.f]][offset]` as a time; None if invalid."""
    return _parse(_TIME, text, _build_time)


def from_unix(seconds):
    """Unix seconds as an aware UTC datetime, the fraction rounded half up to microseconds as the runtime does
    (timedelta would round half to even); None when not finite or beyond year 9999."""
    if not abs(seconds) <= _MAX_UNIX:  # also true for NaN; compared before any conversion, so huge ints are fine
        return None
    whole = math.floor(seconds)
    micros = math.floor((seconds - whole) * 1e6 + 0.5)
    try:
        return _EPOCH + datetime.timedelta(seconds=whole, microseconds=micros)
    except OverflowError:  # before year 1
        return None
