"""Routers, one per resource. Paths here carry no API version: the middleware strips it."""
