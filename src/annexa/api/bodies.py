"""Request bodies read no further than a limit, so a huge upload is never buffered."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from annexa.errors import AnnexaError
from annexa.validation import plain_number


class PayloadTooLarge(AnnexaError):
    code = "too_large"
    http_status = 413


async def read_bounded(request: Request, limit: int, too_large: Callable[[], Exception]) -> bytes:
    """The body of ``request``; ``too_large()`` is raised as soon as its declared length
    or the bytes read so far pass ``limit``."""
    declared = request.headers.get("content-length", "")
    declared_size = plain_number(declared, max_digits=18)
    if declared_size is not None and declared_size > limit:
        raise too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)
