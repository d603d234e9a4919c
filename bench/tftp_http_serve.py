"""Serve a directory with metalnet's HTTP boot app under uvicorn (for bench/tftp_rate.sh).

Usage: python bench/tftp_http_serve.py DIR PORT
"""

from __future__ import annotations

import sys

import uvicorn

from metalnet.boot.http import create_boot_app
from metalnet.boot.sources import StaticRoot


def main() -> None:
    """Run uvicorn on 127.0.0.1:PORT until SIGTERM."""
    directory, port = sys.argv[1], int(sys.argv[2])
    app = create_boot_app(StaticRoot(directory))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
