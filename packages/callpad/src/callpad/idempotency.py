"""The store of `Idempotency-Key`s: each key's request fingerprint and first response.

A key is written in the transaction of the change it answers, so a change and its key
commit together (see `mutations.run_mutation`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .db.tables import idempotency_keys

__all__ = ["StoredResponse", "delete_expired_keys", "find_response", "remember_response"]

StoredResponse = tuple[str, int, dict[str, object]]  # request hash, status, body


async def find_response(conn: AsyncConnection, principal: str, key: str) -> StoredResponse | None:
    row = (
        await conn.execute(
            sa.select(
                idempotency_keys.c.request_hash,
                idempotency_keys.c.status_code,
                idempotency_keys.c.response,
            ).where(idempotency_keys.c.principal == principal, idempotency_keys.c.key == key)
        )
    ).first()
    return (row.request_hash, row.status_code, row.response) if row else None


async def remember_response(
    conn: AsyncConnection,
    principal: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: dict[str, object],
    now: datetime,
) -> None:
    """Store the response; raises IntegrityError when a concurrent request stored it first."""
    await conn.execute(
        idempotency_keys.insert().values(
            principal=principal,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response=body,
            created_at=now,
        )
    )


async def delete_expired_keys(conn: AsyncConnection, now: datetime, ttl_s: int) -> None:
    await conn.execute(
        idempotency_keys.delete().where(
            idempotency_keys.c.created_at < now - timedelta(seconds=ttl_s)
        )
    )
