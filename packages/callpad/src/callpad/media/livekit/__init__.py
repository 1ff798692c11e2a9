"""The LiveKit media backend: rooms, permissions, phone legs, recordings and webhooks.

Nothing is imported here: the backend's modules load livekit-api, its HTTP client and the
recorder's native SDK, which only the `livekit` media mode needs (`backend.LiveKitMedia`).
"""
