"""The counter app's screens, one per file; each is small and talks to :class:`pos.counter.Counter`."""
