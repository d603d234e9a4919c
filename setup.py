"""Declares metalnet's one compiled module; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "metalnet.boot._tftp_blocks",
            ["metalnet/boot/_tftp_blocks.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra"],
        )
    ]
)
