"""Shared building blocks of the Novita models: the base class and quirk-absorbing field types.

Novita's JSON is loosely typed: numbers arrive as strings (``"cpuNum": "16"``), timestamps as
epoch-second strings where ``"0"`` means never, enums as ``""`` when unset, lists as ``null``.
The annotated types here turn all of that into clean Python values once, at the edge, so no
caller ever parses ``"0"`` again.

Example:
    >>> class Thing(NovitaModel):
    ...     gpu_num: LenientInt = None
    ...     created_at: EpochTime = None
    >>> Thing.model_validate({"gpuNum": "2", "createdAt": "0"})
    Thing(gpu_num=2, created_at=None)

"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    SecretStr,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "CheckedInt",
    "CheckedStr",
    "CheckedText",
    "EpochTime",
    "IdStr",
    "LenientBool",
    "LenientInt",
    "ListOrEmpty",
    "NovitaModel",
    "OptionalStr",
    "RequiredId",
    "parse_checked_int",
    "parse_epoch",
    "parse_int",
]

logger = logging.getLogger(__name__)

# Unknown fields are kept (forward compatibility), but one whose name says "secret" is wrapped
# in SecretStr so it cannot leak through repr, logs or a persisted task result.
_SECRET_KEY = re.compile(
    r"pass(word|wd)?$|secret|token|credential|api_?key|^imageauth$", re.IGNORECASE
)
# Anything above this is taken for milliseconds, not seconds (year 5138 in seconds).
_MILLIS_THRESHOLD = 1e11


def parse_int(value: Any) -> int | None:
    """Parse Novita's number-or-numeric-string into an int; blanks and junk give None.

    Example:
        >>> parse_int("16"), parse_int(""), parse_int(8.0), parse_int("8.0")
        (16, None, 8, 8)

    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            logger.debug("Novita sent a non-numeric value where a number was expected: %r", value)
            return None
        return int(number) if math.isfinite(number) else None
    return None


def parse_checked_int(value: Any) -> int | None:
    """Parse a number Novita may send as a string; blank means None, junk is an error.

    For fields a decision rests on (a price): a value that cannot be a number must fail
    loudly, not read as "no price".

    Raises:
        ValueError: A non-numeric string, a boolean, an object or a list.

    Example:
        >>> parse_checked_int("67000"), parse_checked_int(""), parse_checked_int(67000.0)
        (67000, None, 67000)
        >>> parse_checked_int("abc")
        Traceback (most recent call last):
        ...
        ValueError: expected a number or a numeric string, got str 'abc'

    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = None if isinstance(value, bool) else parse_int(value)
    if number is None:
        shown = f" {value[:20]!r}" if isinstance(value, str) else ""
        raise ValueError(
            f"expected a number or a numeric string, got {type(value).__name__}{shown}"
        )
    return number


def parse_epoch(value: Any) -> datetime | None:
    """Parse an epoch-seconds value (int or string) into an aware UTC datetime.

    ``0``, ``"0"``, ``""``, ``"-1"`` and other non-positive values mean "never" and give None.
    ISO-8601 strings are accepted too; millisecond epochs are recognised by size.

    Example:
        >>> parse_epoch("1768435200")
        datetime.datetime(2026, 1, 15, 0, 0, tzinfo=datetime.timezone.utc)
        >>> parse_epoch("0") is None
        True

    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                logger.debug("Novita sent an unreadable timestamp: %r", value)
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if number is None or not math.isfinite(number) or number <= 0:
        return None
    if number > _MILLIS_THRESHOLD:
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _empty_to_none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return str(value)


def _to_id(value: Any) -> Any:
    # Template ids are numeric strings, but some answers send them as bare numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _to_stripped_id(value: Any) -> Any:
    # Blank is no id: "   " must fail like "" (StringConstraints would strip after the check).
    value = _to_id(value)
    return value.strip() if isinstance(value, str) else value


def _checked_str(value: Any) -> Any:
    # Numbers may stand for text (an id sent bare); objects, lists and booleans cannot.
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected a string, got {type(value).__name__}")


def _to_bool(value: Any) -> Any:
    if value is None or value == "":
        return False
    return value


def _list_or_empty(value: Any) -> Any:
    return [] if value is None or value == "" else value


LenientInt = Annotated[int | None, BeforeValidator(parse_int)]
"""An int that may arrive as a string; blank or unreadable values become None."""

EpochTime = Annotated[datetime | None, BeforeValidator(parse_epoch)]
"""A UTC datetime from epoch seconds (string or int); "0", "", "-1" become None."""

OptionalStr = Annotated[str | None, BeforeValidator(_empty_to_none)]
"""A string where "" (Novita's "unset") becomes None."""

IdStr = Annotated[str, BeforeValidator(_to_id)]
"""An identifier that may arrive as a number."""

RequiredId = Annotated[str, BeforeValidator(_to_stripped_id), StringConstraints(min_length=1)]
"""An identifier that may arrive as a number, never blank: what the object is known by."""

CheckedInt = Annotated[int | None, BeforeValidator(parse_checked_int)]
"""An int that may arrive as a numeric string; blank is None; anything else is an error."""

CheckedStr = Annotated[str | None, BeforeValidator(_checked_str)]
"""A string where "" becomes None and a number its text; objects and lists are an error."""

CheckedText = Annotated[str, BeforeValidator(lambda value: _checked_str(value) or "")]
"""Text where null or "" is ""; a number its text; objects, lists and booleans are an error."""

LenientBool = Annotated[bool, BeforeValidator(_to_bool)]
"""A bool where null or "" means False."""

ListOrEmpty = BeforeValidator(_list_or_empty)
"""Validator turning null into []; use as ``Annotated[list[X], ListOrEmpty]``."""


def _wrap_secret_extras(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _wrap_secret_extras(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap_secret_extras(v, key) for v in value]
    if isinstance(value, str) and key and _SECRET_KEY.search(key):
        return SecretStr(value)
    return value


class NovitaModel(BaseModel):
    """Base of every model read from Novita: camelCase aliases, tolerant of new fields.

    Fields are populated from camelCase (as Novita sends them) or snake_case (as Python code
    writes them). Unknown fields are kept in ``model_extra`` but hidden from ``repr``, and any
    whose name looks secret (``password``, ``token``...) is wrapped in ``SecretStr``.

    Example:
        >>> class Box(NovitaModel):
        ...     cluster_id: str
        >>> Box.model_validate({"clusterId": "us-ca-6", "newField": 1}).model_extra
        {'newField': 1}

    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        hide_input_in_errors=True,
    )

    @model_validator(mode="after")
    def _protect_secret_extras(self) -> NovitaModel:
        extra = self.__pydantic_extra__
        if extra:
            for key, value in list(extra.items()):
                extra[key] = _wrap_secret_extras(value, key)
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Extras stay out of repr: they are unvetted, and repr ends up in logs.
        extra = self.__pydantic_extra__ or {}
        for name, value in super().__repr_args__():
            if name not in extra:
                yield name, value
