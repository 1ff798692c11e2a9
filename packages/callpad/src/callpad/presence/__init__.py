"""Presence: whether a vendor's members take calls (available, away, offline)."""
