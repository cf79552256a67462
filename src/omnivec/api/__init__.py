"""The HTTP door: Gemini REST wire format <-> domain types. Only this package knows FastAPI."""
