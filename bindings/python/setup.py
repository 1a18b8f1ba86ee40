"""Packaging of the fstore Python bindings; see build_ffi.py for the build."""

import os
import sys

from setuptools import setup

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_ffi import SOURCE_INCLUDE, read_version  # noqa: E402


def version():
    """The C library's version, read from the header's FSTORE_VERSION_* lines."""
    if os.path.isdir(SOURCE_INCLUDE):
        return read_version(SOURCE_INCLUDE)
    # Outside the checkout (an unpacked sdist): the version recorded in it.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "PKG-INFO")) as f:
        for line in f:
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    raise RuntimeError("cannot tell the fstore version")


setup(
    version=version(),
    cffi_modules=["build_ffi.py:make_ffibuilder"],
    # Always recompile and relink: an in-tree build directory may hold an
    # extension linked against another libfstore.a (FSTORE_BUILD_DIR or
    # FSTORE_PREFIX changed) that is newer than the one asked for now.
    options={"build_ext": {"force": True}},
)
