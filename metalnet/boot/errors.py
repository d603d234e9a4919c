"""Errors of the boot file service, raised by :mod:`metalnet.boot.sources`::

    MetalnetError
     +-- NotFound (404)  -- FileNotFound   no such file (TFTP error 1)
     +-- Forbidden (403) -- AccessDenied   path outside the root, not a regular file (TFTP error 2)
"""

from __future__ import annotations

from metalnet.errors import Forbidden, NotFound


class FileNotFound(NotFound):
    """The requested boot file does not exist."""

    message_format = "Boot file {path!r} could not be found."


class AccessDenied(Forbidden):
    """The path is refused: it leaves the root, names a directory or holds a forbidden byte."""

    message_format = "Boot file {path!r} is refused: {reason}."
