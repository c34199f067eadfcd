"""A resolver the tests control: names map to the addresses a test wants them to have."""

from __future__ import annotations

from ipaddress import ip_address

from clients.outbound_guard import IPAddress


class FakeDns:
    """Answers from a table; a name may get a different answer on each lookup (rebinding)."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self._answers = {name: list(answers) for name, answers in table.items()}
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        answers = self._answers.get(host)
        if not answers:
            raise OSError(f"fake DNS: no such name {host}")
        current = answers.pop(0) if len(answers) > 1 else answers[0]
        return [ip_address(a) for a in current]
