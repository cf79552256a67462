"""Batch-job state machine and the restart-safe worker."""
