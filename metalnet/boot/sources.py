"""Where TFTP and HTTP boot read files from.

A :class:`FileSource` maps a client-supplied path to an :class:`OpenedFile` or
raises :class:`~metalnet.boot.errors.FileNotFound` /
:class:`~metalnet.boot.errors.AccessDenied`. Every source first applies
:func:`normalize_path`, so TFTP and HTTP see the same rules:

- A leading ``/`` is relative to the root: firmware and DHCP bootfile names
  often say ``/pxelinux.0`` while meaning the file at the top of the boot dir.
- ``\\`` is read as ``/``: Windows-style loaders (``\\boot\\x86\\wdsnbp.com``)
  send backslashes, which tftpd-hpa needs a remap rule for.
- ``..`` components and NUL bytes are refused (never normalised away), and so
  is the root itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Protocol

from metalnet.boot.errors import AccessDenied, FileNotFound


@dataclass(frozen=True, slots=True)
class OpenedFile:
    """A readable binary stream of known ``size``; close it (or use ``with``) when done.

    Sources give streams with a descriptor (``stream.fileno()``): TFTP reads the
    blocks with ``pread`` on it, and hands it to transfer workers.
    """

    stream: BinaryIO
    size: int

    @classmethod
    def of_bytes(cls, content: bytes) -> OpenedFile:
        """``content`` in an anonymous in-memory file (a ``memfd``) of its own."""
        fd = os.memfd_create("metalnet-boot", os.MFD_CLOEXEC)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
            os.lseek(fd, 0, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
        return cls(os.fdopen(fd, "rb", buffering=0), len(content))

    def close(self) -> None:
        """Release the stream."""
        self.stream.close()

    def __enter__(self) -> OpenedFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class FileSource(Protocol):
    """Something that opens boot files by client-supplied path."""

    def open(self, path: str) -> OpenedFile:
        """Open ``path``.

        :raises FileNotFound: no such file.
        :raises AccessDenied: the path is refused.
        """
        ...


def normalize_path(path: str) -> str:
    """Turn a client path into a root-relative ``a/b/c`` path (see the module docstring).

    :raises AccessDenied: the path holds a NUL byte or a ``..`` component, or names the root.
    """
    if "\0" in path:
        raise AccessDenied(path=path, reason="it holds a NUL byte")
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise AccessDenied(path=path, reason="it climbs out with '..'")
    if not parts:
        raise AccessDenied(path=path, reason="it names the root directory")
    return "/".join(parts)


class StaticRoot:
    """Regular files under ``directory``.

    Symbolic links are followed only while they stay inside the root; one that
    leads out is refused like ``..``. Directories, devices and FIFOs are refused.
    The check resolves the path and then opens the resolved name with
    ``O_NOFOLLOW``; the root is the operator's, clients cannot create links in it.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self._directory = os.fspath(directory)

    def open(self, path: str) -> OpenedFile:
        """Open ``path`` below the root.

        :raises FileNotFound: no such file.
        :raises AccessDenied: the path leaves the root or is not a regular file.
        """
        relative = normalize_path(path)
        root = os.path.realpath(self._directory)
        target = os.path.realpath(os.path.join(root, relative))
        if os.path.commonpath([root, target]) != root:
            raise AccessDenied(path=path, reason="it leads out of the boot directory")
        try:
            # O_NONBLOCK keeps a FIFO from blocking the open; it is refused below.
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise FileNotFound(path=path) from exc
        except OSError as exc:
            raise AccessDenied(path=path, reason=exc.strerror or "it cannot be opened") from exc
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise AccessDenied(path=path, reason="it is not a regular file")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return OpenedFile(os.fdopen(fd, "rb", buffering=0), info.st_size)


class RenderedSource:
    """Files produced on demand: ``render(path)`` returns the bytes, or ``None`` if it has none.

    ``render`` receives the normalised path (``pxelinux.cfg/01-aa-bb-cc-dd-ee-ff``,
    ``boot/aa:bb:cc:dd:ee:ff.ipxe``, ...) and must not block for long: the TFTP
    listener calls it from the event loop.
    """

    def __init__(self, render: Callable[[str], bytes | None]) -> None:
        self._render = render

    def open(self, path: str) -> OpenedFile:
        """Render ``path``.

        :raises FileNotFound: ``render`` returned ``None``.
        :raises AccessDenied: the path is refused by :func:`normalize_path`.
        """
        content = self._render(normalize_path(path))
        if content is None:
            raise FileNotFound(path=path)
        return OpenedFile.of_bytes(content)


class Overlay:
    """The first of ``sources`` that has the file wins; a refusal stops the search."""

    def __init__(self, sources: Sequence[FileSource]) -> None:
        self._sources = tuple(sources)

    def open(self, path: str) -> OpenedFile:
        """Open ``path`` from the first source that has it.

        :raises FileNotFound: no source has it.
        :raises AccessDenied: a source refused the path.
        """
        for source in self._sources:
            try:
                return source.open(path)
            except FileNotFound:
                continue
        raise FileNotFound(path=path)
