"""Media: the interface to the room, phone legs and recordings, and LiveKit join grants."""
