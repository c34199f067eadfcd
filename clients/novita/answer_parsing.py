"""Turn a decoded Novita answer into models, strictly where a wrong answer would mislead.

An answer without its documented envelope (``{}``, ``{"foo": []}``, a list where an object
belongs) is an error naming the operation and the missing field, never an empty list: an
empty instance list tells a sweep that every managed machine is gone. Likewise an item that
does not validate (an ``"id": {}``, a ``"price": "abc"``) fails the whole answer, naming the
item and the field, instead of quietly dropping out of it. The models stay lenient where
Novita is known to be loose (numbers as strings, ``"0"`` epochs, ``""`` enums, unknown
statuses); see :mod:`clients.novita._base`.

Example:
    >>> from clients.novita.catalog import Cluster
    >>> list_field({"data": [{"id": "us-ca-6"}]}, "data", "list clusters")
    [{'id': 'us-ca-6'}]
    >>> list_field({"foo": []}, "data", "list clusters")
    Traceback (most recent call last):
    ...
    clients.novita.errors.NovitaUnexpectedResponseError: Novita gave an unexpected answer to list clusters: the response could not be understood (HTTP 200: the answer has no 'data' list; it has: foo)

"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from clients.novita.errors import NovitaUnexpectedResponseError

__all__ = ["list_field", "parse_items", "parse_model", "raw_id"]

ModelT = TypeVar("ModelT", bound=BaseModel)

# Enough to say what is wrong without flooding a log line.
_MAX_PROBLEMS = 5
_MAX_KEYS_SHOWN = 8
_MAX_SHOWN_CHARS = 40  # of one key or id the server chose


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_SHOWN_CHARS else text[: _MAX_SHOWN_CHARS - 3] + "..."


def raw_id(item: Any) -> str | None:
    """The ``id`` (or ``Id``) of a raw item, as text; None when it has none.

    Example:
        >>> raw_id({"Id": 7}), raw_id({"name": "x"}), raw_id("junk")
        ('7', None, None)

    """
    if isinstance(item, Mapping):
        value = item.get("id", item.get("Id"))
        return None if value in (None, "") else str(value)
    return None


def list_field(body: Any, key: str, operation: str) -> list[Any]:
    """Return the list Novita's answer carries under ``key``; anything else is an error.

    ``null`` is read as an empty list (a Go nil slice); a missing key is not.

    Args:
        body: The decoded JSON answer.
        key: The documented list key ("data", "instances", "jobs").
        operation: What was attempted, for the error message.

    Returns:
        The raw items.

    Raises:
        NovitaUnexpectedResponseError: The body is not an object, lacks ``key``, or holds
            something else than a list there.

    Example:
        >>> list_field({"instances": None, "total": 0}, "instances", "list instances")
        []

    """
    if not isinstance(body, Mapping):
        kind = "a list" if isinstance(body, list) else type(body).__name__
        raise _unexpected(operation, f"expected an object with a {key!r} list, got {kind}")
    if key not in body:
        keys = ", ".join(_short(k) for k in list(body)[:_MAX_KEYS_SHOWN]) or "no fields"
        raise _unexpected(operation, f"the answer has no {key!r} list; it has: {keys}")
    value = body[key]
    if value is None:
        return []
    if not isinstance(value, list):
        raise _unexpected(operation, f"{key!r} is {type(value).__name__}, not a list")
    return value


def parse_model(
    model: type[ModelT], data: Any, operation: str, *, target: str | None = None
) -> ModelT:
    """Validate one object as ``model``, or raise an error naming the fields that failed.

    Example:
        >>> from clients.novita.instances import Instance
        >>> parse_model(Instance, {"id": "07ed667185a895bb"}, "get instance").id
        '07ed667185a895bb'

    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _unexpected(
            operation, f"{model.__name__} did not match: {_problems(exc)}", target=target
        ) from None


def parse_items(
    model: type[ModelT], items: Sequence[Any], operation: str, *, key: str = "data"
) -> list[ModelT]:
    """Validate every item as ``model``; the first that fails fails the whole answer.

    Args:
        model: The model of one item.
        items: Raw items (from :func:`list_field`).
        operation: What was attempted, for the error message.
        key: The list key, for the error message.

    Returns:
        One model per item, in order.

    Raises:
        NovitaUnexpectedResponseError: An item did not validate; the message names its
            position, its id when it has one, and the fields at fault.

    Example:
        >>> from clients.novita.catalog import Product
        >>> parse_items(Product, [{"id": "p1", "price": "abc"}], "list products")
        Traceback (most recent call last):
        ...
        clients.novita.errors.NovitaUnexpectedResponseError: ... item 0 (id p1) of 'data' is not a valid Product: price: Value error, expected a number or a numeric string, got str 'abc')

    """  # noqa: E501
    parsed: list[ModelT] = []
    for index, item in enumerate(items):
        try:
            parsed.append(model.model_validate(item))
        except ValidationError as exc:
            item_id = raw_id(item)
            which = f"item {index}" + (f" (id {_short(item_id)})" if item_id else "")
            raise _unexpected(
                operation,
                f"{which} of {key!r} is not a valid {model.__name__}: {_problems(exc)}",
            ) from None
    return parsed


def _problems(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False)
    text = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(whole item)'}: {error['msg']}"
        for error in errors[:_MAX_PROBLEMS]
    )
    if len(errors) > _MAX_PROBLEMS:
        text += f"; and {len(errors) - _MAX_PROBLEMS} more"
    return text


def _unexpected(
    operation: str, detail: str, *, target: str | None = None
) -> NovitaUnexpectedResponseError:
    return NovitaUnexpectedResponseError(
        operation=operation, target=target, status_code=200, api_message=detail
    )
