"""The binding's cdef mirrors the public header: every exported function is
declared, and every enum constant has the header's value."""

import os
import re

import fstore
from fstore import _lib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
HEADER = open(os.path.join(ROOT, "libfstore", "include", "fstore", "fstore.h")).read()
CDEF = open(os.path.join(ROOT, "bindings", "python", "fstore_cdef.h")).read()


def header_functions():
    # "FSTORE_API <return type> <name>(" possibly across lines.
    names = re.findall(r"FSTORE_API\b[^;{]*?\b(fstore_\w+)\s*\(", HEADER)
    assert len(names) > 50
    return sorted(set(names))


def test_every_function_is_declared_and_linked():
    missing = [n for n in header_functions() if not re.search(r"\b%s\s*\(" % n, CDEF)]
    assert not missing, "declared in fstore.h but not in fstore_cdef.h: %s" % missing
    for n in header_functions():
        assert hasattr(_lib, n), n


def test_enum_values_match_the_header():
    consts = re.findall(r"^\s*(FSTORE_(?:OK|NOT_FOUND|NULL|ERR_\w+|FORMAT_\w+|TYPE_\w+|LOGICAL_\w+))"
                        r"\s*=\s*(\d+)", HEADER, re.M)
    assert len(consts) > 40
    for name, value in consts:
        assert getattr(_lib, name) == int(value), name


def test_every_error_code_has_a_name():
    for name in re.findall(r"^\s*(FSTORE_ERR_\w+)\s*=", HEADER, re.M):
        code = getattr(_lib, name)
        assert fstore.err_name(code) == name
        assert isinstance(fstore._errors.error_for(code), fstore.Error)
