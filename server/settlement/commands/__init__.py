"""One module per ``mykey-server`` verb settlement adds (``server.cli.EXTRA_VERBS`` imports them by name)."""
