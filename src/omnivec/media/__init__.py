"""Sniff, validate and decode media bytes: image, audio, video, PDF. Decoders import their
libraries (Pillow, PyAV, pypdfium2) lazily."""

from importlib.util import find_spec

# The import names of the media extra (Pillow, PyAV, pypdfium2).
_LIBRARIES = ("PIL", "av", "pypdfium2")


def available() -> bool:
    """Whether the media extra is installed (checked without importing the libraries)."""
    return all(find_spec(name) is not None for name in _LIBRARIES)
