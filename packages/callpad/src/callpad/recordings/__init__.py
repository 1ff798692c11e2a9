"""Recordings' audio: downloads for the members allowed to see their session."""
