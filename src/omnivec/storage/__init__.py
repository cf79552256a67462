"""Persistence: job records, file metadata and blobs (SQLite + a blob directory)."""
