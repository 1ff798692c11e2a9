"""The LiveKit media backend: rooms, permissions, phone legs, recordings and webhooks."""

from .backend import LiveKitMedia, LiveKitUnavailable

__all__ = ["LiveKitMedia", "LiveKitUnavailable"]
