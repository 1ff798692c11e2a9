"""Realtime: channel names, the transactional outbox, and (later) the relay and hub."""
