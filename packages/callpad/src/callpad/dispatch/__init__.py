"""Team dispatch: team settings, who is available to ring, the queue and its timers."""
