"""Backends: one small protocol (``base.Backend``), loaded by ``loader.load_backend``."""
