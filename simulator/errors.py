"""Novita's error envelope: ``{"code": <http status>, "reason", "message", "metadata": {}}``.

Every error the simulated API answers, business or fault, goes through :class:`ApiError`
so that clients see one shape (reference §3.1): most business errors are HTTP 400 with an
UPPER_SNAKE ``reason``; 401 is a bad key, 429 a rate or quota limit, 5xx server trouble,
and a removed instance answers 404.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "envelope", "invalid_state_change", "validator_param"]


def envelope(code: int, reason: str, message: str) -> dict[str, Any]:
    """Build the error body Novita sends.

    Example:
        >>> envelope(400, "RESOURCE_NOT_FOUND", "instance not found")["reason"]
        'RESOURCE_NOT_FOUND'

    """
    return {"code": code, "reason": reason, "message": message, "metadata": {}}


class ApiError(Exception):
    """An error answer of the simulated API.

    Args:
        status: HTTP status (also the envelope's ``code``).
        reason: UPPER_SNAKE reason, e.g. ``INSUFFICIENT_RESOURCE``.
        message: Human-readable text; for validation errors it starts with the field name.
        headers: Extra response headers (e.g. ``Retry-After``).

    Example:
        >>> err = ApiError(400, "TEMPLATE_NOT_FOUND", "template not found")
        >>> err.body()["code"]
        400

    """

    def __init__(
        self, status: int, reason: str, message: str, headers: dict[str, str] | None = None
    ):
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """Return the JSON envelope for this error."""
        return envelope(self.status, self.reason, self.message)


def validator_param(field: str, problem: str) -> ApiError:
    """A 400 ``VALIDATOR_PARAM`` naming the offending field.

    Example:
        >>> validator_param("gpuNum", "must be between 1 and 8").message
        'gpuNum: must be between 1 and 8'

    """
    return ApiError(400, "VALIDATOR_PARAM", f"{field}: {problem}")


def invalid_state_change(status: str, operation: str) -> ApiError:
    """The live API's answer to an illegal transition (message ``invalid state change``).

    Example:
        >>> invalid_state_change("exited", "stop").message.startswith("invalid state change")
        True

    """
    return ApiError(
        400,
        "INVALID_STATE_CHANGE",
        f"invalid state change: cannot {operation} an instance in status {status}",
    )
