"""Turn Novita's ``portMappings[].endpoint`` strings into something we can probe.

http endpoints may come with or without a scheme; without one we assume ``https://``, which is
how Novita's proxy serves instance ports. tcp endpoints are ``host:port``, possibly with a
``tcp://`` (or any) scheme, an IPv6 literal in brackets, or no port at all (then the mapping's
own port is used).
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["normalize_http_url", "parse_tcp_endpoint"]


def normalize_http_url(endpoint: str) -> str:
    """Return an absolute http(s) URL for an http endpoint.

    Args:
        endpoint: ``https://x.example/path``, ``http://127.0.0.1:8000``, or ``x.example``.

    Returns:
        The endpoint unchanged when it has a scheme, else prefixed with ``https://``.

    Raises:
        ValueError: The endpoint is empty.

    Example:
        >>> normalize_http_url("abc-8888.proxy.example")
        'https://abc-8888.proxy.example'
        >>> normalize_http_url("http://127.0.0.1:8000/health")
        'http://127.0.0.1:8000/health'

    """
    endpoint = endpoint.strip()
    if not endpoint:
        raise ValueError("empty http endpoint")
    if "://" in endpoint:
        return endpoint
    return "https://" + endpoint


def parse_tcp_endpoint(endpoint: str, default_port: int | None = None) -> tuple[str, int]:
    """Split a tcp endpoint into host and port.

    Args:
        endpoint: ``host:port``, ``tcp://host:port``, ``[::1]:22`` or just ``host``.
        default_port: Used when the endpoint names no port (the mapping's port).

    Returns:
        ``(host, port)``, with IPv6 brackets removed from the host.

    Raises:
        ValueError: Empty endpoint, a port that is not a number in 1-65535, or no port at all.

    Example:
        >>> parse_tcp_endpoint("203.0.113.7:31022")
        ('203.0.113.7', 31022)
        >>> parse_tcp_endpoint("tcp://[::1]:22")
        ('::1', 22)
        >>> parse_tcp_endpoint("10.0.0.5", default_port=22)
        ('10.0.0.5', 22)

    """
    endpoint = endpoint.strip()
    if not endpoint:
        raise ValueError("empty tcp endpoint")
    # urlsplit only parses host and port after "//", so give a bare "host:port" one.
    parts = urlsplit(endpoint if "://" in endpoint else "//" + endpoint)
    host = parts.hostname
    port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    if not host:
        raise ValueError(f"no host in tcp endpoint {endpoint!r}")
    port = port if port is not None else default_port
    if port is None or not 0 < port < 65536:
        raise ValueError(f"no valid port in tcp endpoint {endpoint!r}")
    return host, port
