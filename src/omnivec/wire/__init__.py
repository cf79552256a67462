"""JSON codecs of every API dialect <-> domain types: pure functions, no I/O.

The JSON that the HTTP API, batch jobs and the command line write is built here, so camelCase
keys and Google's resource shapes exist in one layer below ``api/``.
"""
