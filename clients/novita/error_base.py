"""The base of every Novita client error: what it carries, how its message reads, how it pickles.

The kinds of failure (one subclass each) live in :mod:`clients.novita.errors`; how an HTTP
answer or a network failure becomes one of them lives in
:mod:`clients.novita.error_classification`.

Example:
    >>> error = NovitaError(operation="list clusters", status_code=418, api_message="teapot")
    >>> print(error)
    Novita refused to list clusters: the request failed (HTTP 418: teapot)

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = ["NovitaError"]


class NovitaError(Exception):
    """Base class of every error the Novita client raises.

    Attributes:
        message: The full human-readable message (also ``str(exc)``).
        operation: What the client was doing, in words ("create instance").
        target: What it was done to, when known ("instance 07ed667185a895bb").
        status_code: HTTP status of the answer, None when there was no answer.
        reason: Novita's UPPER_SNAKE reason (``INSUFFICIENT_RESOURCE``), None if absent.
        api_message: Novita's own ``message`` text, with secrets scrubbed.
        metadata: Novita's ``metadata`` object, with secrets scrubbed.
        request_id: A request/trace id from the response headers or metadata, if any.
        retryable: Whether repeating the call could succeed. False on an error of a
            non-idempotent call (create) that may have taken effect, whatever the class.
        maybe_processed: Whether Novita may have acted on the request despite the failure;
            a non-idempotent call (create) is only retried when this is False.
        attempts: How many HTTP requests the call made in all (see :meth:`record_attempts`).

    Example:
        try:
            await client.get_instance("07ed667185a895bb")
        except NovitaError as exc:
            logger.error("%s (retryable=%s)", exc, exc.retryable)

    """

    retryable: ClassVar[bool] = False
    maybe_processed_default: ClassVar[bool] = False
    # Short phrase used in the message: "Novita refused to <operation>: <summary>".
    summary: ClassVar[str] = "the request failed"
    verb: ClassVar[str] = "refused to"

    def __init__(
        self,
        message: str | None = None,
        *,
        operation: str = "call the API",
        target: str | None = None,
        status_code: int | None = None,
        reason: str | None = None,
        api_message: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
        maybe_processed: bool | None = None,
        idempotent: bool = True,
    ) -> None:
        self.operation = operation
        self.target = target
        self.status_code = status_code
        self.reason = reason
        self.api_message = api_message
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.request_id = request_id
        if retryable is not None:
            # Instance-level override of the class default (e.g. a transport error type that
            # is known to be permanent). Shadows the ClassVar on purpose.
            self.retryable = retryable  # type: ignore[misc]
        self.maybe_processed = (
            self.maybe_processed_default if maybe_processed is None else maybe_processed
        )
        self.idempotent = idempotent
        if not idempotent and self.maybe_processed:
            # The create may have happened: no retry layer (ours or a Prefect task's generic
            # retry condition) may repeat it blindly. The caller must look it up first.
            self.retryable = False  # type: ignore[misc]
        self.attempts = 1
        self.message = message if message is not None else self._compose()
        self._message_without_attempts = self.message
        super().__init__(self.message)

    def record_attempts(self, attempts: int) -> None:
        """Note how many HTTP requests the call made in all; the message says so.

        The count is set, not added to: it is the real number of requests sent for this
        call. A retryable error that ends the call "gave up after" them; any other error
        arrived "after" them.

        Example:
            >>> error = NovitaError(operation="list clusters", retryable=True)
            >>> error.record_attempts(4)
            >>> error.attempts, str(error).endswith("(gave up after 4 attempts)")
            (4, True)
            >>> error.record_attempts(2)
            >>> str(error).endswith("(gave up after 2 attempts)")
            True

        """
        self.attempts = max(1, attempts)
        base = getattr(self, "_message_without_attempts", self.message)
        self._message_without_attempts = base
        if self.attempts > 1:
            wording = "gave up after" if self.retryable else "after"
            self.message = f"{base} ({wording} {self.attempts} attempts)"
        else:
            self.message = base
        self.args = (self.message,)

    def _where(self) -> str:
        return f" {self.target}" if self.target else ""

    def _details(self) -> str:
        parts: list[str] = []
        if self.reason:
            parts.append(self.reason)
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        text = ", ".join(parts)
        if self.api_message and self.api_message != self.reason:
            text = f"{text}: {self.api_message}" if text else self.api_message
        return f" ({text})" if text else ""

    def _compose(self) -> str:
        text = (
            f"Novita {self.verb} {self.operation}{self._where()}: {self.summary}{self._details()}"
        )
        if self.request_id:
            text += f" [request id {self.request_id}]"
        if not self.idempotent and self.maybe_processed:
            text += (
                ". The request reached Novita, so it MAY have taken effect; look it up"
                " (e.g. list instances by name) before trying again"
            )
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__ breaks the default exception pickling, and Prefect pickles
        # the exceptions of failed tasks; rebuild from the instance dict instead.
        return (_restore_error, (type(self), self.__dict__.copy()))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(operation={self.operation!r}, status_code={self.status_code!r},"
            f" reason={self.reason!r}, message={self.message!r})"
        )


def _restore_error(cls: type[NovitaError], state: dict[str, Any]) -> NovitaError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error
