"""Read a paged Novita list to the end, and never loop on a server that misbehaves.

Novita pages with ``pageNum`` (1-based; 0 and 1 both mean the first page) and ``pageSize``,
and says how many items there are in ``total``. Reading stops when ``total`` items arrived
(or, without ``total``, on a short page), on an empty page, when a page brings only ids
already seen (a server ignoring ``pageNum``), or after ``max_pages`` pages. An item seen on
an earlier page is not yielded again.

Example:
    >>> import asyncio
    >>> from clients.novita.jobs import Job
    >>> pages = {1: {"jobs": [{"Id": "j1"}, {"Id": "j2"}], "total": 3},
    ...          2: {"jobs": [{"Id": "j3"}], "total": 3}}
    >>> async def fetch(page_num: int) -> dict:
    ...     return pages[page_num]
    >>> async def main() -> list[str]:
    ...     return [job.id async for page in iter_pages(fetch, items_key="jobs", model=Job,
    ...             page_size=2, operation="list jobs") for job in page]
    >>> asyncio.run(main())
    ['j1', 'j2', 'j3']

"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from clients.novita._base import parse_int
from clients.novita.answer_parsing import list_field, parse_items, raw_id

__all__ = ["DEFAULT_MAX_PAGES", "DEFAULT_PAGE_CONCURRENCY", "iter_pages", "read_all_pages"]

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

DEFAULT_MAX_PAGES = 1000
"""Hard stop for paged reads, whatever the server says."""

DEFAULT_PAGE_CONCURRENCY = 8
"""Pages read at once once the first page told how many there are (the client's rate limit,
when one is set, still spaces them)."""


async def iter_pages(
    fetch_page: Callable[[int], Awaitable[Any]],
    *,
    items_key: str,
    model: type[ModelT],
    page_size: int,
    operation: str,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> AsyncIterator[list[ModelT]]:
    """Yield page after page of models until everything was read.

    Args:
        fetch_page: Returns the decoded answer of one page, given its 1-based number.
        items_key: The list key of the answer ("instances", "jobs").
        model: The model of one item.
        page_size: Items asked per page (the server may send fewer).
        operation: What is being read, for errors and logs.
        max_pages: Stop after this many pages.

    Yields:
        Lists of models; an item (by id) appears once.

    Raises:
        NovitaUnexpectedResponseError: A page without the ``items_key`` list, or an item
            that does not validate.

    Example:
        async for page in iter_pages(fetch, items_key="instances", model=Instance,
                                     page_size=100, operation="list instances"):
            handle(page)

    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    seen: set[str] = set()
    received = 0
    page_num = 1
    while True:
        body = await fetch_page(page_num)
        raw_items = list_field(body, items_key, operation)
        if not raw_items:
            return
        total = parse_int(body.get("total"))
        received += len(raw_items)
        fresh: list[Any] = []
        for item in raw_items:
            item_id = raw_id(item)
            if item_id is None or item_id not in seen:
                fresh.append(item)
                if item_id is not None:
                    seen.add(item_id)
        if not fresh:
            logger.warning(
                "Novita answered page %d of %s with items already seen; the server seems"
                " to ignore pageNum, stopping after %d items",
                page_num,
                operation,
                len(seen),
            )
            return
        yield parse_items(model, fresh, operation, key=items_key)
        if total is not None:
            if received >= total:
                return
        elif len(raw_items) < page_size:
            return
        if page_num >= max_pages:
            logger.warning("Stopped %s after %d pages (max_pages)", operation, page_num)
            return
        page_num += 1


async def read_all_pages(
    fetch_page: Callable[[int], Awaitable[Any]],
    *,
    items_key: str,
    model: type[ModelT],
    page_size: int,
    operation: str,
    max_pages: int = DEFAULT_MAX_PAGES,
    concurrency: int = DEFAULT_PAGE_CONCURRENCY,
) -> list[ModelT]:
    """Read every page, the first alone and the rest `concurrency` at a time.

    The first page says how many items there are (``total``): the other pages are then
    known and fetched at once, so a 10,000-instance account is 100 requests in the time of
    a few. Without a ``total`` (or with ``concurrency`` 1) pages are read one after another
    (:func:`iter_pages`). Items keep the pages' order; an item (by id) appears once.

    Raises:
        NovitaUnexpectedResponseError: A page without the ``items_key`` list, or an item
            that does not validate.

    Example:
        >>> import asyncio
        >>> from clients.novita.jobs import Job
        >>> pages = {n: {"jobs": [{"Id": f"j{n}"}], "total": 3} for n in (1, 2, 3)}
        >>> async def fetch(page_num: int) -> dict:
        ...     return pages[page_num]
        >>> jobs = asyncio.run(read_all_pages(fetch, items_key="jobs", model=Job,
        ...                                   page_size=1, operation="list jobs"))
        >>> [job.id for job in jobs]
        ['j1', 'j2', 'j3']

    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    first = await fetch_page(1)
    raw_first = list_field(first, items_key, operation)
    total = parse_int(first.get("total"))
    if total is None or concurrency <= 1:

        async def replay(page_num: int) -> Any:
            return first if page_num == 1 else await fetch_page(page_num)

        pages = iter_pages(
            replay,
            items_key=items_key,
            model=model,
            page_size=page_size,
            operation=operation,
            max_pages=max_pages,
        )
        return [item async for page in pages for item in page]
    # A server may send fewer items than asked (it caps the page size): count its pages.
    per_page = min(page_size, len(raw_first)) or page_size
    needed = max(1, -(-total // per_page))
    count = min(max_pages, needed)
    if count < needed:
        logger.warning("Reading %s: %d pages at most (max_pages)", operation, count)
    seen: set[str] = set()
    fresh: list[Any] = []

    def keep(raw: list[Any]) -> int:
        kept = 0
        for item in raw:
            item_id = raw_id(item)
            if item_id is None or item_id not in seen:
                fresh.append(item)
                kept += 1
                if item_id is not None:
                    seen.add(item_id)
        return kept

    keep(raw_first)
    if count >= 2:
        # Page 2 alone first: a server that ignores pageNum answers it with page 1 again.
        if not keep(list_field(await fetch_page(2), items_key, operation)):
            logger.warning(
                "Novita answered page 2 of %s with items already seen; the server seems to "
                "ignore pageNum, stopping after %d items",
                operation,
                len(seen),
            )
            count = 0
    gate = asyncio.Semaphore(concurrency)

    async def fetch_limited(page_num: int) -> Any:
        async with gate:
            return await fetch_page(page_num)

    for body in await asyncio.gather(*(fetch_limited(n) for n in range(3, count + 1))):
        keep(list_field(body, items_key, operation))
    return parse_items(model, fresh, operation, key=items_key)
