"""Builds the cffi extension ``fstore._fstore_cffi`` (API mode, out of line).

The extension is compiled against fstore's public header and links the
*static* libfstore.a, so the installed package does not need libfstore.so at
run time; only the system libraries libfstore itself links (LMDB, avro-c,
jansson, xxhash, librdkafka, libcurl) are shared dependencies.

Where libfstore comes from, first match wins:

1. ``FSTORE_BUILD_DIR``: a CMake build tree (e.g. ``build/release``), using
   ``<dir>/libfstore/libfstore.a`` and the ``fstore.pc`` beside it.
2. ``FSTORE_PREFIX``: an install prefix (``cmake --install build/release
   --prefix P``), using ``P/lib*/pkgconfig/fstore.pc``.
3. ``pkg-config fstore`` on the default search path (an installed fstore).
4. ``../../build/release`` relative to this file (after
   ``scripts/build.sh release`` in a checkout).

The header is the checkout's ``libfstore/include`` when this package sits in
the fstore source tree, else the one the library was installed with; the
build fails when the library's version differs from the header's.
"""

import os
import re
import shlex
import subprocess

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_INCLUDE = os.path.normpath(os.path.join(HERE, "..", "..", "libfstore", "include"))
DEFAULT_BUILD_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "build", "release"))


class BuildError(RuntimeError):
    pass


def read_version(include_dir):
    """Returns "MAJOR.MINOR.PATCH" from the FSTORE_VERSION_* lines of the header."""
    header = os.path.join(include_dir, "fstore", "fstore.h")
    with open(header, encoding="utf-8") as f:
        text = f.read()
    parts = []
    for part in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(r"^#define FSTORE_VERSION_%s (\d+)$" % part, text, re.M)
        if not m:
            raise BuildError("%s: no FSTORE_VERSION_%s line" % (header, part))
        parts.append(m.group(1))
    return ".".join(parts)


def _pkg_config(pc_path, *args):
    env = dict(os.environ)
    if pc_path:
        env["PKG_CONFIG_PATH"] = pc_path + (
            os.pathsep + env["PKG_CONFIG_PATH"] if env.get("PKG_CONFIG_PATH") else "")
    try:
        out = subprocess.run(["pkg-config", *args], env=env, check=True,
                             capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise BuildError("pkg-config is not installed (Debian: pkg-config)") from None
    except subprocess.CalledProcessError as e:
        raise BuildError("pkg-config %s failed: %s" % (" ".join(args), e.stderr.strip())) from None
    return out.strip()


def _pc_libs_private(pc_file):
    """The Libs.private line of fstore.pc itself (e.g. -pthread)."""
    with open(pc_file, encoding="utf-8") as f:
        for line in f:
            if line.startswith("Libs.private:"):
                return shlex.split(line.split(":", 1)[1])
    return []


def _find_pc(prefix):
    for root, _dirs, files in os.walk(prefix):
        if "fstore.pc" in files and os.path.basename(root) == "pkgconfig":
            return os.path.join(root, "fstore.pc")
    raise BuildError("FSTORE_PREFIX=%s: no lib*/pkgconfig/fstore.pc under it; "
                     "run cmake --install <build> --prefix %s first" % (prefix, prefix))


def locate_libfstore():
    """Returns (include_dirs, extra_objects, libraries, library_dirs, extra_link_args, origin)."""
    build_dir = os.environ.get("FSTORE_BUILD_DIR")
    prefix = os.environ.get("FSTORE_PREFIX")
    archive = pc_file = None
    if build_dir:
        origin = "FSTORE_BUILD_DIR=" + build_dir
        pc_file = os.path.join(build_dir, "libfstore", "fstore.pc")
        archive = os.path.join(build_dir, "libfstore", "libfstore.a")
    elif prefix:
        origin = "FSTORE_PREFIX=" + prefix
        pc_file = _find_pc(prefix)
    else:
        try:
            pc_dir = _pkg_config(None, "--variable=pcfiledir", "fstore")
            pc_file = os.path.join(pc_dir, "fstore.pc")
            origin = "pkg-config (" + pc_file + ")"
        except BuildError:
            origin = "build tree " + DEFAULT_BUILD_DIR
            pc_file = os.path.join(DEFAULT_BUILD_DIR, "libfstore", "fstore.pc")
            archive = os.path.join(DEFAULT_BUILD_DIR, "libfstore", "libfstore.a")
    if not os.path.isfile(pc_file):
        raise BuildError(
            "libfstore not found (%s: no %s). Build it with scripts/build.sh release, "
            "then set FSTORE_BUILD_DIR=build/release, or install it and set "
            "FSTORE_PREFIX or PKG_CONFIG_PATH." % (origin, pc_file))
    pc_dir = os.path.dirname(pc_file)
    if archive is None:
        archive = os.path.join(_pkg_config(pc_dir, "--variable=libdir", "fstore"), "libfstore.a")
    if not os.path.isfile(archive):
        raise BuildError("%s: the static library %s is missing" % (origin, archive))

    # libfstore.a itself, then the shared libraries of the modules it
    # requires privately. pkg-config --static would also expand *their*
    # private static dependencies, which need -dev packages a shared link
    # does not.
    requires = _pkg_config(pc_dir, "--print-requires-private", "fstore").split()
    modules = [r for r in requires if re.match(r"^[A-Za-z0-9_.+-]+$", r)]
    dep_flags = shlex.split(_pkg_config(None, "--libs", *modules)) if modules else []
    dep_flags += _pc_libs_private(pc_file)
    libraries, library_dirs, link_args = [], [], []
    for flag in dep_flags:
        if flag.startswith("-l"):
            libraries.append(flag[2:])
        elif flag.startswith("-L"):
            library_dirs.append(flag[2:])
        else:
            link_args.append(flag)

    include_dirs = []
    if os.path.isfile(os.path.join(SOURCE_INCLUDE, "fstore", "fstore.h")):
        include_dirs.append(SOURCE_INCLUDE)
    if not build_dir:
        installed = _pkg_config(pc_dir, "--variable=includedir", "fstore")
        if os.path.isfile(os.path.join(installed, "fstore", "fstore.h")):
            if include_dirs and read_version(installed) != read_version(SOURCE_INCLUDE):
                raise BuildError(
                    "%s is fstore %s but this checkout's header is %s: build the "
                    "bindings against a matching library" % (
                        origin, read_version(installed), read_version(SOURCE_INCLUDE)))
            include_dirs.append(installed)
    if not include_dirs:
        raise BuildError("fstore/fstore.h not found (%s)" % origin)
    # Symbols of the static archive stay inside the extension.
    link_args.append("-Wl,--exclude-libs,libfstore.a")
    return include_dirs, [archive], libraries, library_dirs, link_args, origin


# FSTORE_STATIC_DEFINE: what CMake's fstore::fstore_static target sets.
EXTENSION_SOURCE = r"""
#define FSTORE_STATIC_DEFINE 1
#include <fstore/fstore.h>

/* get() reads whole rows: one call here instead of one call per column
 * from Python. For each column c: state[c] = 0 and the value in iv[c]
 * (boolean, int, long, enum index) or dv[c] (float, double); 1 when null;
 * 2 for the types Python reads itself (strings, bytes, fixed, arrays).
 * Returns FSTORE_OK or the first accessor error. */
static int _fstore_py_row_scalars(const fstore_table_t *table,
                                  const fstore_row_t *row, int ncols,
                                  int64_t *iv, double *dv, uint8_t *state)
{
    for (int c = 0; c < ncols; c++) {
        fstore_err_t rc;
        switch (fstore_table_column_type(table, c)) {
        case FSTORE_TYPE_BOOLEAN: {
            int v = 0;
            rc = fstore_row_bool(table, row, c, &v);
            iv[c] = v;
            break;
        }
        case FSTORE_TYPE_INT:
        case FSTORE_TYPE_ENUM: {
            int32_t v = 0;
            rc = fstore_row_int(table, row, c, &v);
            iv[c] = v;
            break;
        }
        case FSTORE_TYPE_LONG: {
            int64_t v = 0;
            rc = fstore_row_long(table, row, c, &v);
            iv[c] = v;
            break;
        }
        case FSTORE_TYPE_FLOAT: {
            float v = 0;
            rc = fstore_row_float(table, row, c, &v);
            dv[c] = v;
            break;
        }
        case FSTORE_TYPE_DOUBLE: {
            double v = 0;
            rc = fstore_row_double(table, row, c, &v);
            dv[c] = v;
            break;
        }
        default:
            state[c] = 2;
            continue;
        }
        if (rc == FSTORE_OK)
            state[c] = 0;
        else if (rc == FSTORE_NULL)
            state[c] = 1;
        else
            return (int)rc;
    }
    return FSTORE_OK;
}
"""


def make_ffibuilder():
    ffibuilder = FFI()
    with open(os.path.join(HERE, "fstore_cdef.h"), encoding="utf-8") as f:
        ffibuilder.cdef(f.read())
    include_dirs, objects, libraries, library_dirs, link_args, origin = locate_libfstore()
    print("fstore bindings: linking libfstore from %s" % origin)
    ffibuilder.set_source(
        "fstore._fstore_cffi",
        EXTENSION_SOURCE,
        include_dirs=include_dirs,
        extra_objects=objects,
        libraries=libraries,
        library_dirs=library_dirs,
        extra_link_args=link_args,
        extra_compile_args=["-O2"],
        # Relink when the library or the header changes, not only when the
        # generated C source does (an in-tree rebuild would keep a stale
        # libfstore otherwise).
        depends=objects + [os.path.join(d, "fstore", "fstore.h") for d in include_dirs],
    )
    return ffibuilder


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
