"""Where an owner's webhooks go, kept without the secrets a URL may carry.

A webhook URL may carry a token (`https://hooks.example/novita?token=...`). The full URL is
kept only where sending needs it: in a Prefect `Secret` block (the Prefect server stores block
data encrypted), named `novita-webhook-<hash>`, or in the owner's own `Secret` block
(`webhook_block`). Everywhere else (the state store, delivery rows, logs, artifacts) the
webhook appears in its *stored form*: the URL with its query values and password redacted,
prefixed by the name of the block that holds the real one. A URL without query string or
userinfo is kept as it is.

Example:
    >>> stored_form("https://hooks.example/x?token=REDACTED", "novita-webhook-ab12")
    'prefect-secret:novita-webhook-ab12 https://hooks.example/x?token=REDACTED'
    >>> shown_url("prefect-secret:novita-webhook-ab12 https://hooks.example/x?token=REDACTED")
    'https://hooks.example/x?token=REDACTED'

"""

from __future__ import annotations

import hashlib

from prefect.blocks.system import Secret
from pydantic import SecretStr

from clients.url_redaction import carries_secret, redact_url

SECRET_PREFIX = "prefect-secret:"
BLOCK_PREFIX = "novita-webhook-"


def stored_form(shown: str, block: str | None) -> str:
    """What the store keeps: the shown URL, and the block holding the real one if any."""
    return f"{SECRET_PREFIX}{block} {shown}" if block else shown


def _parse(stored: str) -> tuple[str, str | None]:
    if stored.startswith(SECRET_PREFIX):
        block, _, shown = stored[len(SECRET_PREFIX) :].partition(" ")
        return shown, block
    return stored, None


def shown_url(stored: str | None) -> str | None:
    """The URL to show for a stored webhook (secrets redacted)."""
    return None if stored is None else _parse(stored)[0]


async def keep_webhook(url: SecretStr | str | None, block: str | None = None) -> str | None:
    """Keep the owner's webhook: the real URL in a Secret block when it carries secrets.

    Args:
        url: The webhook URL given as a parameter (`SecretStr` keeps it out of Prefect's
            flow-run parameters when called from Python).
        block: Or the name of a saved Prefect `Secret` block holding the URL (for deployment
            runs: nothing secret in the run's parameters).

    Returns:
        The stored form (see the module docstring), None without a webhook.

    Example:
        ```python
        stored = await keep_webhook(SecretStr("https://hooks.example/x?token=t0k3n"))
        ```

    """
    if block:
        target = (await Secret.aload(block)).get()
        return stored_form(redact_url(str(target)), block)
    if url is None:
        return None
    text = url.get_secret_value() if isinstance(url, SecretStr) else url
    if not carries_secret(text):
        return text
    name = BLOCK_PREFIX + hashlib.sha256(text.encode()).hexdigest()[:16]
    await Secret(value=text).asave(name, overwrite=True)
    return stored_form(redact_url(text), name)


async def webhook_address(stored: str | None) -> str | None:
    """The URL to send to, for a stored webhook (read from its Secret block if it has one).

    Example:
        ```python
        url = await webhook_address(record.webhook_url)
        ```

    """
    if stored is None:
        return None
    shown, block = _parse(stored)
    if block is None:
        return shown
    return str((await Secret.aload(block)).get())
