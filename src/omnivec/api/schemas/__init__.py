"""Wire schemas (pydantic). Field names are snake_case with camelCase aliases, so both spellings
are accepted, as proto3 JSON requires; unknown fields are ignored."""
