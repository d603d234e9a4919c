"""Types of the compiled data phase (``_tftp_blocks.c``)."""

TIMEOUT: int
COMPLETED: int
DATAGRAM: int
STOPPED: int
FILE_SHORT: int
READ_FAILED: int
SOCKET_FAILED: int

class BlockSender:
    def __init__(
        self, sock: int, file: int, size: int, blksize: int, windowsize: int, awaiting_oack: bool
    ) -> None: ...
    @property
    def awaiting_oack(self) -> bool: ...
    def run(self, timeout: float, stop_fd: int = -1, /) -> tuple[int, bool, bytes | int | None]: ...
    def rewind(self) -> None: ...
    def take_counts(self) -> tuple[int, int, int, int, int, int]: ...
