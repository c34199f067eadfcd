"""Errors the store raises; callers catch these, never SQLAlchemy's."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error raised by the state store."""


class InstanceNotFoundError(StoreError, LookupError):
    """No managed instance has the given Novita id.

    Example:
        >>> raise InstanceNotFoundError("0123456789abcdef")
        Traceback (most recent call last):
        store.errors.InstanceNotFoundError: 0123456789abcdef

    """


class InstanceConflictError(StoreError):
    """A write would break a uniqueness rule (name among live instances, or Novita id)."""


class DeliveryNotFoundError(StoreError, LookupError):
    """No webhook delivery has the given delivery id."""
