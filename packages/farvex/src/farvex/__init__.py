"""farvex: the Python SDK for Callpad voice sessions."""

__version__ = "0.1.0"

__all__ = ["__version__"]
