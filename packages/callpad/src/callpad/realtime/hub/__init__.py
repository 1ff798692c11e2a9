"""The embedded hub: the Centrifugo client protocol (JSON over WebSocket) inside this process.

streams.py     channels as streams: offsets, epochs, bounded history, recovery (pure)
connection.py  one WebSocket: its user, subscriptions, one FIFO outbound queue
commands.py    one handler per client command, behind the guards every command passes
hub.py         the hub: publishing, the registry of connections, the endpoint, the ticker
"""

from .config import HubConfig
from .hub import Authorizer, Clock, Hub, StreamPosition

__all__ = ["Authorizer", "Clock", "Hub", "HubConfig", "StreamPosition"]
