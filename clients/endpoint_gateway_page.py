"""Recognise a gateway's error page served in place of the application.

Novita exposes instance ports through a proxy; until the application listens, the proxy (or a
CDN in front of it) answers with its own error page, sometimes with a 200 status. Such a page
means "not serving yet", whatever the status says.

To avoid flagging a real application that merely mentions "service unavailable" somewhere in a
long page, a large body is judged by its ``<title>`` and ``<h1>`` only; gateway error pages are
small, so small bodies are searched whole.
"""

from __future__ import annotations

import re

__all__ = ["looks_like_gateway_error_page"]

_SMALL_BODY_CHARS = 16_384
"""Bodies up to this size are searched whole; larger ones by title and first heading only."""

_GATEWAY_PHRASES = re.compile(
    r"""
    \bbad\s+gateway\b                        # 502, nginx/Apache/most proxies
    | \bservice\s+(?:temporarily\s+)?unavailable\b   # 503
    | \bgateway\s+time-?\s?out\b             # 504, nginx writes "Gateway Time-out"
    | \borigin\s+is\s+unreachable\b          # Cloudflare 523
    | \bweb\s+server\s+is\s+down\b           # Cloudflare 521
    | \borigin\s+(?:server\s+)?(?:is\s+)?(?:down|not\s+responding)\b
    | \bno\s+healthy\s+upstream\b            # Envoy
    | \bupstream\s+connect\s+error\b         # Envoy
    | \bupstream\s+request\s+timeout\b       # Envoy
    | \bno\s+server\s+is\s+available\s+to\s+handle\s+this\s+request\b  # HAProxy
    | \berror\s+code:?\s+52[0-7]\b           # Cloudflare "Error code 522"
    """,
    re.IGNORECASE | re.VERBOSE,
)

_HEADLINES = re.compile(r"<(title|h1)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)


def looks_like_gateway_error_page(body: bytes | str) -> bool:
    """Tell whether a response body reads like a proxy/CDN error page rather than the app.

    Args:
        body: The response body (or its beginning); bytes are decoded as UTF-8, leniently.

    Returns:
        True for pages such as nginx's "502 Bad Gateway", "503 Service Unavailable",
        "504 Gateway Time-out", Cloudflare's "Origin is unreachable", Envoy's
        "no healthy upstream".

    Example:
        >>> looks_like_gateway_error_page(b"<html><title>502 Bad Gateway</title></html>")
        True
        >>> looks_like_gateway_error_page("<h1>Jupyter Server</h1>")
        False

    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if len(text) > _SMALL_BODY_CHARS:
        text = " ".join(match.group(2) for match in _HEADLINES.finditer(text))
    return _GATEWAY_PHRASES.search(text) is not None
