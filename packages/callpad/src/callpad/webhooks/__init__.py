"""Webhooks in from the media server (LiveKit), applied to sessions."""
