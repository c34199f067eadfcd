import pytest

from clients.endpoint_address import normalize_http_url, parse_tcp_endpoint


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("abc-8888.proxy.example", "https://abc-8888.proxy.example"),
        ("  abc.example/lab  ", "https://abc.example/lab"),
        ("http://127.0.0.1:8000/health", "http://127.0.0.1:8000/health"),
        ("https://abc.example", "https://abc.example"),
    ],
)
def test_normalize_http_url(endpoint: str, url: str) -> None:
    assert normalize_http_url(endpoint) == url


def test_normalize_http_url_rejects_empty() -> None:
    with pytest.raises(ValueError):
        normalize_http_url("  ")


@pytest.mark.parametrize(
    ("endpoint", "default", "expected"),
    [
        ("203.0.113.7:31022", None, ("203.0.113.7", 31022)),
        ("tcp://203.0.113.7:31022", None, ("203.0.113.7", 31022)),
        ("[::1]:22", None, ("::1", 22)),
        ("host.example", 22, ("host.example", 22)),
        ("host.example:2222", 22, ("host.example", 2222)),
    ],
)
def test_parse_tcp_endpoint(endpoint: str, default: int | None, expected: tuple[str, int]) -> None:
    assert parse_tcp_endpoint(endpoint, default) == expected


@pytest.mark.parametrize(
    "endpoint", ["", "host.example", "host.example:notaport", "host:70000", "host:0", ":22"]
)
def test_parse_tcp_endpoint_rejects(endpoint: str) -> None:
    with pytest.raises(ValueError):
        parse_tcp_endpoint(endpoint)
