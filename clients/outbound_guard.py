"""Where the project may send requests: the one rule for webhook URLs and probe targets.

Webhook URLs come from users and probe endpoints from Novita's answers; neither may turn a
worker into a way into the cloud it runs on. So, on every address a host resolves to:

* **Always refused**, whatever the settings: link-local addresses (169.254.0.0/16,
  fe80::/10), where cloud metadata services answer (169.254.169.254), the metadata addresses
  outside that range (fd00:ec2::254, 100.100.100.200, 192.0.0.192), and metadata host names
  (``metadata.google.internal``, ``metadata``...). The allow-list cannot reopen them.
* **Strict** (off by default, so webhooks to a local receiver keep working): also loopback,
  private, shared (CGNAT), multicast, reserved and any other non-public address, unless the
  host name or the address is on the allow-list (host names, IP addresses or CIDRs).

IPv4 addresses wrapped in IPv6 (``::ffff:169.254.169.254``, NAT64, 6to4) are judged by the
IPv4 address inside. :func:`decide` is pure; :class:`OutboundGuard` resolves the host (every
address it has) and raises :class:`OutboundRefusedError` naming the rule. Connecting only to
the addresses it approved is :mod:`clients.guarded_connect`'s job.

Example:
    >>> decide("metadata.google.internal", [], OutboundPolicy()).rule
    'metadata.google.internal is a cloud metadata host name (always refused)'
    >>> decide("hooks.example", [ip_address("10.0.0.1")], OutboundPolicy()).allowed
    True
    >>> print(decide("hooks.example", [ip_address("10.0.0.1")], OutboundPolicy(strict=True)).rule)
    10.0.0.1 is a private address (10.0.0.0/8), refused by strict outbound mode; allow-list it to permit it

"""  # noqa: E501

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = [
    "METADATA_HOST_NAMES",
    "IPAddress",
    "OutboundDecision",
    "OutboundGuard",
    "OutboundPolicy",
    "OutboundRefusedError",
    "Resolver",
    "decide",
    "normalize_allow_list",
    "resolve_host",
]

IPAddress = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Resolves ``(host, port)`` to every address of the host; tests inject a fake DNS."""

METADATA_HOST_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
        "metadata.packet.net",
    }
)
"""Host names of cloud metadata services (GCP, Azure, AWS, Tencent, Equinix)."""

_Network = IPv4Network | IPv6Network

# (network, what an address in it is): refused whatever the policy says.
_ALWAYS_REFUSED: tuple[tuple[_Network, str], ...] = (
    (ip_network("169.254.0.0/16"), "link-local (169.254.0.0/16, where metadata services answer)"),
    (ip_network("fe80::/10"), "link-local (fe80::/10)"),
    (ip_network("fd00:ec2::254/128"), "the AWS metadata service address"),
    (ip_network("100.100.100.200/32"), "the Alibaba Cloud metadata service address"),
    (ip_network("192.0.0.192/32"), "the Oracle Cloud metadata service address"),
)

# (network, what an address in it is): refused in strict mode unless allow-listed.
_STRICT_REFUSED: tuple[tuple[_Network, str], ...] = (
    (ip_network("127.0.0.0/8"), "a loopback address (127.0.0.0/8)"),
    (ip_network("::1/128"), "the loopback address (::1)"),
    (ip_network("10.0.0.0/8"), "a private address (10.0.0.0/8)"),
    (ip_network("172.16.0.0/12"), "a private address (172.16.0.0/12)"),
    (ip_network("192.168.0.0/16"), "a private address (192.168.0.0/16)"),
    (ip_network("fc00::/7"), "a private address (unique local, fc00::/7)"),
    (ip_network("100.64.0.0/10"), "a shared address (carrier-grade NAT, 100.64.0.0/10)"),
    (ip_network("0.0.0.0/8"), "a 'this network' address (0.0.0.0/8)"),
    (ip_network("::/128"), "the unspecified address (::)"),
    (ip_network("fec0::/10"), "a site-local address (fec0::/10)"),
    (ip_network("224.0.0.0/4"), "a multicast address (224.0.0.0/4)"),
    (ip_network("ff00::/8"), "a multicast address (ff00::/8)"),
    (ip_network("240.0.0.0/4"), "a reserved address (240.0.0.0/4)"),
)

_NAT64 = ip_network("64:ff9b::/96")
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*")


class OutboundPolicy(BaseModel):
    """How strict the guard is.

    Attributes:
        strict: Also refuse loopback, private and other non-public addresses.
        allow_list: Exceptions to strict mode: host names (``hooks.internal``), addresses
            (``127.0.0.1``) or CIDRs (``10.20.0.0/16``). They never reopen the
            always-refused rules.

    Example:
        >>> OutboundPolicy(strict=True, allow_list=["LocalHost.", "10.20.0.0/16"]).allow_list
        ('localhost', '10.20.0.0/16')

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    strict: bool = False
    allow_list: tuple[str, ...] = ()

    @field_validator("allow_list", mode="before")
    @classmethod
    def _normalise(cls, value: Iterable[str] | None) -> tuple[str, ...]:
        return normalize_allow_list(value or ())

    def allows_host(self, host: str) -> bool:
        """Whether ``host`` (a name) is on the allow-list.

        Example:
            >>> OutboundPolicy(allow_list=["hooks.internal"]).allows_host("HOOKS.internal.")
            True

        """
        return _host_key(host) in self.allow_list

    def allows_address(self, address: IPAddress) -> bool:
        """Whether ``address`` falls in an allow-listed address or CIDR.

        Example:
            >>> OutboundPolicy(allow_list=["127.0.0.0/8"]).allows_address(ip_address("127.0.0.1"))
            True

        """
        for entry in self.allow_list:
            if _is_network_text(entry):
                network = ip_network(entry, strict=False)
                if address.version == network.version and address in network:
                    return True
        return False


def normalize_allow_list(entries: Iterable[str]) -> tuple[str, ...]:
    """Check and normalise allow-list entries: lower-case names, bare IPs, CIDRs.

    Raises:
        ValueError: An entry is neither a host name nor an address or CIDR.

    Example:
        >>> normalize_allow_list([" Hooks.Internal. ", "[::1]", "10.20.0.0/16", ""])
        ('hooks.internal', '::1', '10.20.0.0/16')

    """
    normalized: list[str] = []
    for raw in entries:
        entry = _host_key(str(raw))
        if not entry:
            continue
        if not _is_network_text(entry) and not _HOST_NAME.fullmatch(entry):
            raise ValueError(f"allow-list entry {raw!r} is neither a host name nor a CIDR")
        normalized.append(entry)
    return tuple(normalized)


class OutboundDecision(BaseModel):
    """Whether a host may be contacted, and the rule that refused it if not.

    Example:
        >>> OutboundDecision(allowed=False, rule="x is link-local (always refused)").allowed
        False

    """

    model_config = ConfigDict(frozen=True)

    allowed: bool
    rule: str | None = None
    address: str | None = None


class OutboundRefusedError(Exception):
    """A request was not sent because the outbound guard refused its host.

    Attributes:
        host: The host that was asked for.
        rule: The rule that refused it, in words.
        address: The refused address, None when the host name itself was refused.

    Example:
        >>> str(OutboundRefusedError("169.254.169.254", "it is link-local (always refused)"))
        'outbound guard refused 169.254.169.254: it is link-local (always refused)'

    """

    def __init__(self, host: str, rule: str, address: str | None = None) -> None:
        self.host = host
        self.rule = rule
        self.address = address
        super().__init__(f"outbound guard refused {host}: {rule}")


def decide(host: str, addresses: Sequence[IPAddress], policy: OutboundPolicy) -> OutboundDecision:
    """Decide whether ``host``, resolving to ``addresses``, may be contacted. Pure.

    Every address must pass: one refused address refuses the host (a name that resolves to
    a public and to a metadata address must not get a second chance at connect time).

    Args:
        host: The host as written in the URL (a name or an IP literal).
        addresses: Every address it resolved to (empty to judge the name alone).
        policy: Strict or not, and the allow-list.

    Returns:
        The decision, with the rule in words when refused.

    Example:
        >>> decide("hooks.example", [ip_address("169.254.169.254")], OutboundPolicy()).rule
        '169.254.169.254 is link-local (169.254.0.0/16, where metadata services answer) (always refused)'

    """  # noqa: E501
    name = _host_key(host)
    if name in METADATA_HOST_NAMES:
        return OutboundDecision(
            allowed=False, rule=f"{name} is a cloud metadata host name (always refused)"
        )
    host_allowed = policy.allows_host(name)
    for address in addresses:
        always = _match(address, _ALWAYS_REFUSED)
        if always is not None:
            return OutboundDecision(
                allowed=False, address=str(address), rule=f"{address} is {always} (always refused)"
            )
        if not policy.strict or host_allowed or policy.allows_address(address):
            continue
        strict = _match(address, _STRICT_REFUSED)
        if strict is None and not address.is_global:
            strict = "not a public address"
        if strict is not None:
            return OutboundDecision(
                allowed=False,
                address=str(address),
                rule=f"{address} is {strict}, refused by strict outbound mode;"
                " allow-list it to permit it",
            )
    return OutboundDecision(allowed=True)


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal is its own answer), in DNS order.

    Raises:
        OSError: The name does not resolve (``socket.gaierror``).

    Example:
        >>> import asyncio
        >>> asyncio.run(resolve_host("127.0.0.1", 80))
        [IPv4Address('127.0.0.1')]

    """
    literal = _literal(host)
    if literal is not None:
        return [literal]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ip_address(str(sockaddr[0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


class OutboundGuard:
    """Resolves a host and applies the policy to every address; raises when refused.

    Args:
        policy: The policy; ``OutboundPolicy()`` (not strict) by default.
        resolver: Name resolution; the system's by default, a fake one in tests. IP
            literals are never handed to it.

    Example:
        guard = OutboundGuard(OutboundPolicy(strict=True, allow_list=["127.0.0.1"]))
        addresses = await guard.checked_addresses("hooks.example.com", 443)

    """

    def __init__(
        self, policy: OutboundPolicy | None = None, *, resolver: Resolver | None = None
    ) -> None:
        self.policy = policy or OutboundPolicy()
        self._resolver: Resolver = resolver or resolve_host

    async def checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        """Resolve ``host`` and return its addresses, all of them allowed.

        Raises:
            OutboundRefusedError: The name or one of its addresses is refused.
            OSError: The name does not resolve.

        Example:
            addresses = await OutboundGuard().checked_addresses("127.0.0.1", 8080)

        """
        name_only = decide(host, [], self.policy)
        if not name_only.allowed:
            raise OutboundRefusedError(host, name_only.rule or "refused")
        literal = _literal(host)
        addresses = [literal] if literal is not None else await self._resolver(host, port)
        if not addresses:
            raise OSError(f"{host} resolved to no address")
        decision = decide(host, addresses, self.policy)
        if not decision.allowed:
            raise OutboundRefusedError(host, decision.rule or "refused", decision.address)
        return addresses


def _host_key(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


def _literal(host: str) -> IPAddress | None:
    try:
        return ip_address(_host_key(host).split("%")[0])
    except ValueError:
        return None


def _is_network_text(entry: str) -> bool:
    try:
        ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


def _judged_forms(address: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address carried inside it (mapped, NAT64, 6to4)."""
    forms: list[IPAddress] = [address]
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            forms.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            forms.append(address.sixtofour)
        if address in _NAT64:
            forms.append(IPv4Address(int(address) & 0xFFFFFFFF))
    return forms


def _match(address: IPAddress, table: tuple[tuple[_Network, str], ...]) -> str | None:
    """What ``address`` (or an IPv4 address inside it) is by ``table``, or None."""
    for candidate in _judged_forms(address):
        for network, what in table:
            if candidate.version == network.version and candidate in network:
                return what
    return None
