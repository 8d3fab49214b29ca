"""The REST API (``/api/v1``): a thin FastAPI layer over the same services as the CLI."""
