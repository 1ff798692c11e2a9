"""uvicorn's WebSocket protocol, adjusted for Centrifugo clients.

Older centrifuge-python versions send an empty `Sec-WebSocket-Protocol` header in JSON
mode. RFC 6455 does not allow an empty list, and the websockets handshake answers 400 to
it before the app runs, while Centrifugo accepts it. Run uvicorn with
`ws=HubWebSocketProtocol` to treat such a header as absent.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

__all__ = ["HubWebSocketProtocol"]


class HubWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Request) -> None:
        offered = event.headers.get_all("Sec-WebSocket-Protocol")
        if offered and not any(value.strip(" ,") for value in offered):
            del event.headers["Sec-WebSocket-Protocol"]
        super().handle_connect(event)
