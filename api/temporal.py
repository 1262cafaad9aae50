"""The Temporal client the web app sends workflow starts and Updates with.

Connected on first use, not per request: most requests (inboxes, pages) never
talk to Temporal, and a request that fails its checks should not need it.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from temporalio.client import Client

from workflows.payloads import DATA_CONVERTER
from wuye.settings import get_settings


class TemporalConnection:
    """A client made when first asked for, then kept."""

    def __init__(self, connect: Callable[[], Awaitable[Client]]) -> None:
        self._connect = connect
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, client: Client) -> "TemporalConnection":
        """A connection to an existing client (tests, scripts)."""

        async def existing() -> Client:
            return client

        return cls(existing)

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await self._connect()
        return self._client


async def _connect_from_settings() -> Client:
    settings = get_settings()
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )


_connection = TemporalConnection(_connect_from_settings)


async def get_temporal() -> TemporalConnection:
    """The process's connection to Temporal."""
    return _connection


async def get_task_queue() -> str:
    return get_settings().temporal_task_queue


TemporalDep = Annotated[TemporalConnection, Depends(get_temporal)]
TaskQueueDep = Annotated[str, Depends(get_task_queue)]
