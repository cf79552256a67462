"""The command line: serve, embed, models (and files, batch)."""
