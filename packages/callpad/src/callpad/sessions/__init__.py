"""Sessions: start, answer, hold, record, add and remove participants, end."""
