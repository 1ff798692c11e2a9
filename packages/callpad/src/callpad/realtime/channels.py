"""Channel names. `#` marks a user-limited channel, as in Centrifugo: only that user reads it.

| channel                 | who reads it                                   |
|-------------------------|------------------------------------------------|
| `user:#{user_id}`       | the user, as a customer (global, across vendors) |
| `agent:{vendor}#{user_id}` | the user, as a member of that vendor        |
| `vendor:{vendor}`       | the vendor's owners and admins (the vendor feed) |
"""

from __future__ import annotations

__all__ = ["agent_channel", "user_channel", "vendor_feed"]


def user_channel(user_id: int) -> str:
    return f"user:#{user_id}"


def agent_channel(vendor: str, user_id: int) -> str:
    return f"agent:{vendor}#{user_id}"


def vendor_feed(vendor: str) -> str:
    return f"vendor:{vendor}"
