"""Sniff, validate and decode media bytes: image, audio, video, PDF. Decoders import their
libraries (Pillow, PyAV, pypdfium2) lazily."""
