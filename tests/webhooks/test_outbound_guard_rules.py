"""The outbound rule itself: what is always refused, what strict mode adds, the allow-list."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from clients.outbound_guard import (
    OutboundGuard,
    OutboundPolicy,
    OutboundRefusedError,
    decide,
    normalize_allow_list,
)

from .fake_dns import FakeDns

ANYTHING_GOES_BUT_ALWAYS = OutboundPolicy(strict=True, allow_list=["0.0.0.0/0", "::/0", "x"])


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("169.254.169.254", "link-local (169.254.0.0/16"),
        ("169.254.0.1", "link-local (169.254.0.0/16"),
        ("fe80::1", "link-local (fe80::/10)"),
        ("fd00:ec2::254", "AWS metadata"),
        ("100.100.100.200", "Alibaba Cloud metadata"),
        ("::ffff:169.254.169.254", "link-local (169.254.0.0/16"),
        ("64:ff9b::a9fe:a9fe", "link-local (169.254.0.0/16"),
    ],
)
def test_metadata_and_link_local_addresses_are_always_refused(address: str, says: str) -> None:
    for policy in (OutboundPolicy(), ANYTHING_GOES_BUT_ALWAYS):
        decision = decide("x", [ip_address(address)], policy)
        assert not decision.allowed
        assert says in (decision.rule or "") and "(always refused)" in (decision.rule or "")


@pytest.mark.parametrize(
    "host", ["metadata.google.internal", "METADATA.google.internal.", "metadata", "metadata.goog"]
)
def test_metadata_host_names_are_always_refused(host: str) -> None:
    decision = decide(host, [ip_address("8.8.8.8")], ANYTHING_GOES_BUT_ALWAYS)
    assert not decision.allowed and "cloud metadata host name" in (decision.rule or "")


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("10.0.0.1", "private address (10.0.0.0/8)"),
        ("172.16.5.4", "private address (172.16.0.0/12)"),
        ("192.168.1.1", "private address (192.168.0.0/16)"),
        ("127.0.0.1", "loopback address (127.0.0.0/8)"),
        ("::1", "loopback address (::1)"),
        ("fd00::1", "unique local, fc00::/7"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("0.0.0.0", "'this network'"),
        ("198.18.0.1", "not a public address"),
    ],
)
def test_strict_mode_refuses_non_public_addresses(address: str, says: str) -> None:
    assert decide("x", [ip_address(address)], OutboundPolicy()).allowed
    decision = decide("x", [ip_address(address)], OutboundPolicy(strict=True))
    assert not decision.allowed
    assert says in (decision.rule or "") and "strict outbound mode" in (decision.rule or "")


def test_public_addresses_pass_strict_mode() -> None:
    for address in ("8.8.8.8", "2606:4700:4700::1111"):
        assert decide("x", [ip_address(address)], OutboundPolicy(strict=True)).allowed


def test_allow_list_by_name_address_and_cidr() -> None:
    loopback = [ip_address("127.0.0.1")]
    assert decide(
        "hooks.internal", loopback, OutboundPolicy(strict=True, allow_list=["hooks.internal"])
    ).allowed
    assert decide("x", loopback, OutboundPolicy(strict=True, allow_list=["127.0.0.1"])).allowed
    assert decide("x", loopback, OutboundPolicy(strict=True, allow_list=["127.0.0.0/8"])).allowed
    assert not decide("x", loopback, OutboundPolicy(strict=True, allow_list=["10.0.0.0/8"])).allowed


def test_every_address_must_pass() -> None:
    mixed = [ip_address("8.8.8.8"), ip_address("169.254.169.254")]
    decision = decide("x", mixed, OutboundPolicy())
    assert not decision.allowed and decision.address == "169.254.169.254"


def test_allow_list_entries_are_checked() -> None:
    assert normalize_allow_list(["LocalHost.", "[::1]", "10.0.0.0/8"]) == (
        "localhost",
        "::1",
        "10.0.0.0/8",
    )
    with pytest.raises(ValueError, match="neither a host name nor a CIDR"):
        normalize_allow_list(["http://hooks.example/x"])


async def test_guard_judges_what_the_name_resolves_to() -> None:
    dns = FakeDns({"innocent.example": [["169.254.169.254"]], "fine.example": [["8.8.8.8"]]})
    guard = OutboundGuard(resolver=dns)
    with pytest.raises(OutboundRefusedError) as info:
        await guard.checked_addresses("innocent.example", 80)
    assert info.value.address == "169.254.169.254" and "link-local" in info.value.rule
    assert await guard.checked_addresses("fine.example", 80) == [ip_address("8.8.8.8")]


async def test_guard_refuses_a_metadata_name_without_resolving_it() -> None:
    dns = FakeDns({})
    with pytest.raises(OutboundRefusedError, match="cloud metadata host name"):
        await OutboundGuard(resolver=dns).checked_addresses("metadata.google.internal", 80)
    assert dns.lookups == []
