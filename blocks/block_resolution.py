"""How a flow finds its settings: a named block, else the `default` block, else a fallback."""

from __future__ import annotations

from typing import Self

from prefect.blocks.core import Block

DEFAULT_BLOCK_NAME = "default"


class ResolvableBlock(Block):
    """A block that flows resolve by name, with an environment or built-in fallback.

    Subclasses implement `fallback()`; flows call `await SomeBlock.resolve(name)`.

    Example:
        ```python
        creds = await NovitaCredentials.resolve()        # "default" block, else environment
        creds = await NovitaCredentials.resolve("prod")  # this saved block, or an error
        ```

    """

    @classmethod
    def fallback(cls) -> Self:
        """The value used when no block is named and none is saved as `default`."""
        raise NotImplementedError

    @classmethod
    async def resolve(cls, block_name: str | None = None) -> Self:
        """Load the named block; with no name, the `default` block if saved, else `fallback()`.

        Example:
            ```python
            policies = await NovitaPolicies.resolve()
            ```

        """
        if block_name:
            return await cls.aload(block_name)
        try:
            return await cls.aload(DEFAULT_BLOCK_NAME)
        except ValueError:
            return cls.fallback()
