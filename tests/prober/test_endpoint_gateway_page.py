import pytest

from clients.endpoint_gateway_page import looks_like_gateway_error_page

NGINX_502 = b"""<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.25.3</center>
</body>
</html>
"""


@pytest.mark.parametrize(
    "body",
    [
        NGINX_502,
        b"<html><head><title>503 Service Temporarily Unavailable</title></head></html>",
        b"<h1>504 Gateway Time-out</h1>The server didn't respond in time.",
        b"Gateway Timeout",
        "<title>example.com | 523: Origin is unreachable</title>",
        "<span>Error code 522</span> Connection timed out",
        b"<title>example.com | 521: Web server is down</title>",
        b"no healthy upstream",
        b"upstream connect error or disconnect/reset before headers. reset reason: overflow",
        b"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle"
        b" this request.\n</body></html>",
        b'{"error": "Bad Gateway"}',
        b"BAD GATEWAY",
    ],
)
def test_gateway_pages_are_recognised(body: bytes | str) -> None:
    assert looks_like_gateway_error_page(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"status":"ok"}',
        b"<html><head><title>Jupyter Server</title></head><body>Loading...</body></html>",
        b"<title>ComfyUI</title>",
        "<html><title>Stable Diffusion</title><p>Générer une image</p></html>".encode(),
        b"OK",
        b"\xff\xfe not utf-8 \x80",
    ],
)
def test_application_pages_are_not_gateway_pages(body: bytes) -> None:
    assert not looks_like_gateway_error_page(body)


def test_large_page_judged_by_title_and_heading_only() -> None:
    filler = "<p>" + "lorem ipsum " * 3000 + "</p>"
    mentions = "<p>If the API says service unavailable, retry later.</p>"
    app_page = f"<html><title>API docs</title><body>{filler}{mentions}</body></html>"
    assert len(app_page) > 16_384
    assert not looks_like_gateway_error_page(app_page)
    proxy_page = f"<html><title>502 Bad Gateway</title><body>{filler}</body></html>"
    assert looks_like_gateway_error_page(proxy_page)
    heading_page = f"<html><body><h1 class='x'>Service Unavailable</h1>{filler}</body></html>"
    assert looks_like_gateway_error_page(heading_page)
