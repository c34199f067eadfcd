"""Name claims: one holder at a time, lapsed leases taken over, release by the holder only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from store import StateStore

LEASE = timedelta(minutes=5)


async def test_of_concurrent_claims_of_one_name_exactly_one_wins(store: StateStore) -> None:
    won = await asyncio.gather(*(store.claim_name("trainer", f"run-{i}", LEASE) for i in range(6)))
    assert sum(won) == 1
    claim = await store.get_name_claim("trainer")
    assert claim is not None and claim.holder == f"run-{won.index(True)}"


async def test_release_frees_the_name_and_only_the_holder_releases(store: StateStore) -> None:
    assert await store.claim_name("a", "run-1", LEASE)
    await store.release_name("a", "run-2")  # not the holder: nothing happens
    assert not await store.claim_name("a", "run-2", LEASE)
    await store.release_name("a", "run-1")
    assert await store.get_name_claim("a") is None
    assert await store.claim_name("a", "run-2", LEASE)


async def test_a_lapsed_claim_is_taken_over_and_a_holder_renews(store: StateStore) -> None:
    assert await store.claim_name("b", "crashed", timedelta(seconds=-1))  # already lapsed
    assert await store.claim_name("b", "next", LEASE)
    assert await store.claim_name("b", "next", LEASE)  # renewing one's own claim
    assert not await store.claim_name("b", "crashed", LEASE)
