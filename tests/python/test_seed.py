"""Snapshots streamed and restored from every kind of source: a file, a
pipe, standard input, a binary file object and an http(s) URL, through the
CLI (`fstore snapshot --out -`, `fstore restore --in`), Python
(Store.snapshot, fstore.restore) and the store.seed property.

The URLs are served by http.server from the standard library, bound to
127.0.0.1 on an ephemeral port, in a thread of this process; it also serves
the failures: 404, a body cut off halfway, garbage, a damaged snapshot, a
transfer that stalls, and a port nothing listens on. Each failure must exit
1 (CLI) or raise (Python), name the URL, leave the target directory without
a store and usable, and never show the URL's password or query string.

A restored store is compared with its source through the API: every key's
row (every column value and the Kafka metadata), the row counts, the tables
and the per-partition offsets. No broker is needed (test_seed_kafka.py has
the real-broker cases). The CLI is found through FSTORE_CLI or FSTORE_BIN,
else build/release/tools/fstore."""

import base64
import http.server
import json
import os
import pty
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import fstore
from conftest import SCHEMA, fill_history, fstore_cli, key_of

NKEYS = 300
USER, PASSWORD = "reader", "hunter2"
QUERY = "X-Signature=secret-signature"
# What no message may show: the URL's password and its query string.
SECRETS = (PASSWORD, "secret-signature", "X-Signature")
# Only stops a hang (e.g. a restore that would wait forever); never a
# timing assertion.
HANG_S = 120


def run(*args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", HANG_S)
    return subprocess.run([fstore_cli(), *args], **kw)


# -- comparing stores -----------------------------------------------------------

def plain(value):
    """A column value == compares exactly: numpy arrays as (dtype, list)."""
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.tolist())
    return value


def row_of(store, key):
    r = store.get("users", key)
    if r is None:
        return None
    return ({c: plain(v) for c, v in r.items()}, r.key, r.timestamp, r.partition,
            r.offset, r.schema_id)


def assert_same_store(src, path):
    """The store at @p path holds exactly what @p src holds: tables, every
    key's row, row counts and offsets."""
    with fstore.open(path, read_only=True) as dst:
        assert [repr(t) for t in dst.tables()] == [repr(t) for t in src.tables()]
        live = 0
        for i in range(NKEYS + 10):
            a, b = row_of(src, key_of(i)), row_of(dst, key_of(i))
            assert b == a, key_of(i)
            live += a is not None
        assert dst.row_count("users") == src.row_count("users") == live
        assert dst.offsets("users") == src.offsets("users")


def assert_no_store(path):
    """@p path holds no store: absent, or an empty directory."""
    if os.path.exists(path):
        assert os.listdir(path) == []
    with pytest.raises(fstore.NoStoreError):
        fstore.open(path, read_only=True)


def assert_store_files_only(path):
    """@p path holds a restored store and nothing of the restore itself
    (its temporary .restore-PID directory is gone)."""
    names = os.listdir(path)
    assert "data.mdb" in names, names
    assert not [n for n in names if n.startswith(".restore-")], names
    assert set(names) <= {"data.mdb", "lock.mdb", "writer.lock"}, names


def assert_no_secret(*texts):
    for t in texts:
        for s in SECRETS:
            assert s not in t, "%r shows %r" % (t, s)


@pytest.fixture
def source(store):
    """The source store: rows over three partitions with explicit offsets,
    then overwrites and tombstones (every column type, nulls included)."""
    deleted = fill_history(store, NKEYS)
    assert store.row_count("users") == NKEYS - len(deleted)
    return store


@pytest.fixture
def snap(source, tmp_path):
    """The bytes of a snapshot of the source store."""
    path = tmp_path / "snap.fst"
    source.snapshot(path)
    return path.read_bytes()


# -- the HTTP server -------------------------------------------------------------

class Server:
    """http.server on 127.0.0.1, an ephemeral port, in a thread. Paths:
    /snap the snapshot (200); /missing 404; /half the snapshot's headers
    and half its body, then the connection closes; /garbage random bytes;
    /damaged the snapshot with one byte changed in its middle; /stall the
    first half, then nothing until the server stops. Every request's path
    (query included) and Authorization header are recorded."""

    def __init__(self, body):
        self.body = body
        self.requests = []
        self.stalled = threading.Event()  # a /stall request is waiting
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, data, length=None):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) if length is None
                                                       else length))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Authorization")))
                route = self.path.split("?")[0]
                half = server.body[:len(server.body) // 2]
                if route == "/snap":
                    self.send(server.body)
                elif route == "/half":
                    self.send(half, length=len(server.body))
                    self.close_connection = True
                elif route == "/garbage":
                    self.send(np.random.default_rng(7).bytes(len(server.body)))
                elif route == "/damaged":
                    data = bytearray(server.body)
                    data[len(data) // 2] ^= 0x10
                    self.send(bytes(data))
                elif route == "/stall":
                    self.send(half, length=len(server.body))
                    server.stalled.set()
                    server.release.wait(HANG_S)
                    self.close_connection = True
                else:
                    self.send_error(404)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path, secret=True):
        """The URL of @p path, with user:password@ and a signature query."""
        if secret:
            return "http://%s:%s@127.0.0.1:%d%s?%s" % (USER, PASSWORD, self.port, path, QUERY)
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def shown(self, path, secret=True):
        """The URL as messages show it: without user information and query."""
        return "http://127.0.0.1:%d%s%s" % (self.port, path,
                                            " (query not shown)" if secret else "")

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(snap):
    s = Server(snap)
    yield s
    s.stop()


def closed_port():
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- restores from a URL -----------------------------------------------------------

def test_cli_restore_from_url(source, server, tmp_path):
    dst = tmp_path / "restored"
    r = run("restore", "--in", server.url("/snap"), "--store", str(dst), text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith("fstore restore: created %s in " % dst), r.stderr
    assert_no_secret(r.stderr)
    assert_same_store(source, dst)
    # The credentials went as basic authentication, the query as it was.
    auth = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
    assert server.requests == [("/snap?" + QUERY, auth)]


def test_python_restore_from_url(source, server, tmp_path):
    dst = tmp_path / "restored"
    os.mkdir(dst)  # an existing empty directory (a mount point) will do
    lines = []
    fstore.restore(server.url("/snap"), dst, {"log.level": 6},
                   log=lambda level, msg: lines.append(msg))
    assert_store_files_only(dst)
    assert_same_store(source, dst)
    # The library's own line names the source without its secrets.
    assert any(server.shown("/snap") in m for m in lines), lines
    assert_no_secret(*lines)


def test_seed_from_url(source, server, tmp_path):
    dst = str(tmp_path / "replica")
    with fstore.open(dst, {"store.seed": server.url("/snap")}) as s:
        assert not s.read_only
    assert_same_store(source, dst)
    assert len(server.requests) == 1
    # A directory that holds a store ignores the seed, a bad one too: the
    # server is not even asked.
    with fstore.open(dst, {"store.seed": server.url("/missing")}):
        pass
    assert len(server.requests) == 1
    assert_same_store(source, dst)
    # A read-only open never seeds.
    ro = str(tmp_path / "ro")
    with pytest.raises(fstore.NoStoreError):
        fstore.open(ro, {"store.seed": server.url("/snap")}, read_only=True)
    assert len(server.requests) == 1


# -- failing URLs ---------------------------------------------------------------------

# path -> (error name, what the message says right after the URL as shown)
FAILURES = {
    "/missing": ("FSTORE_ERR_IO", " answered HTTP 404"),
    "refused": ("FSTORE_ERR_IO", ": Failed to connect"),
    "/half": ("FSTORE_ERR_IO", ": transfer closed"),
    "/garbage": ("FSTORE_ERR_CORRUPT", " is not an fstore snapshot"),
    "/damaged": ("FSTORE_ERR_CORRUPT", " is damaged"),
}


def failing_url(server, case):
    """(URL with secrets, URL as shown) of failure @p case."""
    if case == "refused":
        port = closed_port()
        return ("http://%s:%s@127.0.0.1:%d/snap?%s" % (USER, PASSWORD, port, QUERY),
                "http://127.0.0.1:%d/snap (query not shown)" % port)
    return server.url(case), server.shown(case)


@pytest.mark.parametrize("via", ["cli", "python", "seed"])
@pytest.mark.parametrize("case", list(FAILURES))
def test_failing_url_leaves_no_store(source, server, tmp_path, case, via):
    name, what = FAILURES[case]
    url, shown = failing_url(server, case)
    dst = tmp_path / "target"
    os.mkdir(dst)
    if via == "cli":
        r = run("restore", "--in", url, "--store", str(dst), text=True)
        assert r.returncode == 1, r.stderr
        assert r.stdout == ""
        message = r.stderr
        assert message.startswith("fstore restore: cannot restore into %s: " % dst)
        assert message.rstrip().endswith("(%s)" % name), message
    else:
        with pytest.raises(fstore.StorageError) as info:
            if via == "python":
                fstore.restore(url, dst)
            else:
                fstore.open(dst, {"store.seed": url})
        assert info.value.name == name
        message = str(info.value)
        if via == "seed":
            assert "seeding %s (store.seed): " % dst in message
    assert shown + what in message, message
    assert_no_secret(message)
    assert_no_store(dst)
    # The directory is usable: a good restore into it succeeds.
    fstore.restore(server.url("/snap"), dst)
    assert_same_store(source, dst)


def test_failed_restore_removes_the_directory_it_made(server, tmp_path):
    dst = tmp_path / "new"
    with pytest.raises(fstore.StorageError):
        fstore.restore(server.url("/half"), dst)
    assert not dst.exists()


# -- pipes, standard input and file objects ---------------------------------------------

def test_shell_pipe_snapshot_to_restore(source, store_path, tmp_path):
    dst = tmp_path / "piped"
    # A real shell pipe: the snapshot streams as it is made.
    r = subprocess.run(["sh", "-c", '"$0" snapshot --store "$1" --out - | '
                        '"$0" restore --in - --store "$2"', fstore_cli(), store_path, str(dst)],
                       capture_output=True, text=True, timeout=HANG_S)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert "fstore snapshot: wrote standard output in " in r.stderr
    assert "fstore restore: created %s in " % dst in r.stderr
    assert_same_store(source, dst)


def test_snapshot_stdout_holds_only_the_snapshot(source, store_path, tmp_path):
    r = run("snapshot", "--store", store_path, "--out", "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"FSTORESNAP\0\0")
    assert r.stderr.decode().startswith("fstore snapshot: wrote standard output in ")
    # Exactly a snapshot: restore refuses any byte after its end.
    dst = tmp_path / "exact"
    r2 = run("restore", "--in", "-", "--store", str(dst), input=r.stdout)
    assert r2.returncode == 0, r2.stderr
    assert_same_store(source, dst)
    r3 = run("restore", "--in", "-", "--store", str(tmp_path / "more"),
             input=r.stdout + b"\n", text=False)
    assert r3.returncode == 1
    assert b"standard input is damaged: bytes follow its end" in r3.stderr, r3.stderr


def test_snapshot_to_a_regular_stdout_reports_its_size(source, store_path, tmp_path):
    out = tmp_path / "out.fst"
    with open(out, "wb") as f:
        r = run("snapshot", "--store", store_path, "--out", "-", stdout=f, capture_output=False,
                stderr=subprocess.PIPE, text=True)
    assert r.returncode == 0, r.stderr
    size = out.stat().st_size
    assert size > 64
    assert "wrote standard output (" in r.stderr
    dst = tmp_path / "from-file"
    with open(out, "rb") as f:
        r = run("restore", "--in", "-", "--store", str(dst), stdin=f, text=True)
    assert r.returncode == 0, r.stderr
    assert "from a snapshot of " in r.stderr
    assert_same_store(source, dst)


def tty_run(args, stream):
    """Runs the CLI with its stdin or stdout (@p stream) on a new pty;
    returns (exit status, stderr, bytes that reached the terminal). A
    thread drains the terminal, so output there never blocks the CLI."""
    master, slave = pty.openpty()
    got = []

    def drain():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal has no writer left
                return
            if not chunk:
                return
            got.append(chunk)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        kw = {"stdin": slave} if stream == "stdin" else {"stdout": slave}
        r = subprocess.run([fstore_cli(), *args], stderr=subprocess.PIPE, timeout=HANG_S, **kw)
    finally:
        os.close(slave)
        reader.join(HANG_S)
        os.close(master)
    return r.returncode, r.stderr.decode(), b"".join(got)


def test_snapshot_to_a_terminal_is_refused(source, store_path):
    status, err, got = tty_run(["snapshot", "--store", store_path, "--out", "-"], "stdout")
    assert status == 2
    assert err.startswith("fstore snapshot: --out -: standard output is a terminal"), err
    assert got == b""


def test_restore_from_a_terminal_is_refused(tmp_path):
    dst = tmp_path / "tty"
    status, err, _ = tty_run(["restore", "--in", "-", "--store", str(dst)], "stdin")
    assert status == 2
    assert err.startswith("fstore restore: --in -: standard input is a terminal"), err
    assert not dst.exists()


def test_python_file_objects(source, tmp_path):
    # The snapshot goes after what the object buffered, and the object
    # continues after it.
    path = tmp_path / "obj.fst"
    with open(path, "wb") as f:
        f.write(b"HEAD")
        source.snapshot(f)
        end = f.tell()
        f.write(b"TAIL")
    data = path.read_bytes()
    assert data[:4] == b"HEAD" and data[4:14] == b"FSTORESNAP" and data[end:] == b"TAIL"
    # A restore starts where the object stands, not where its read-ahead
    # left the descriptor (at the end), and reads to the end.
    (tmp_path / "head.fst").write_bytes(data[:end])
    with open(tmp_path / "head.fst", "rb") as f:
        assert f.read(4) == b"HEAD"
        fstore.restore(f, tmp_path / "a")
        assert f.tell() == end  # left open, at the end
    assert_same_store(source, tmp_path / "a")
    with open(path, "rb") as f:
        assert f.read(4) == b"HEAD"
        with pytest.raises(fstore.StorageError, match="bytes follow its end"):
            fstore.restore(f, tmp_path / "tail")
    assert not (tmp_path / "tail").exists()
    # A pipe: a thread writes the snapshot while the restore reads it.
    r, w = os.pipe()
    with os.fdopen(r, "rb") as rf, os.fdopen(w, "wb") as wf:
        writer = threading.Thread(target=lambda: (source.snapshot(wf), wf.close()))
        writer.start()
        fstore.restore(rf, tmp_path / "b")
        writer.join(HANG_S)
    assert_same_store(source, tmp_path / "b")
    # Paths keep working, also as bytes; "-" given to snapshot is a file.
    source.snapshot(os.fsencode(tmp_path / "bytes.fst"))
    fstore.restore(os.fsencode(tmp_path / "bytes.fst"), os.fsencode(tmp_path / "c"))
    assert_same_store(source, tmp_path / "c")


def test_python_refuses_what_has_no_descriptor(source, tmp_path):
    import io
    with pytest.raises(TypeError, match="no file descriptor"):
        source.snapshot(io.BytesIO())
    with pytest.raises(TypeError, match="text stream"):
        with open(tmp_path / "t", "w") as f:
            source.snapshot(f)
    with pytest.raises(TypeError, match="path or a binary file object"):
        fstore.restore(42, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_python_stdout_and_stdin(source, store_path, tmp_path):
    # Store.snapshot(sys.stdout.buffer) in one process | fstore.restore("-")
    # in another: the Python ends of a pipe, both ways round.
    code_out = ("import sys, fstore; "
                "fstore.open(sys.argv[1], read_only=True).snapshot(sys.stdout.buffer)")
    code_in = "import sys, fstore; fstore.restore('-', sys.argv[1])"
    py = sys.executable
    dst = tmp_path / "py-py"
    r = subprocess.run(["sh", "-c", '"$0" -c "$1" "$2" | "$0" -c "$3" "$4"', py, code_out,
                        store_path, code_in, str(dst)],
                       capture_output=True, text=True, timeout=HANG_S, env=os.environ)
    assert r.returncode == 0, r.stderr
    assert_same_store(source, dst)
    # The CLI's snapshot into Python's restore, and the other way.
    dst = tmp_path / "cli-py"
    r = subprocess.run(["sh", "-c", '"$0" snapshot --store "$1" --out - | "$2" -c "$3" "$4"',
                        fstore_cli(), store_path, py, code_in, str(dst)],
                       capture_output=True, text=True, timeout=HANG_S)
    assert r.returncode == 0, r.stderr
    assert_same_store(source, dst)
    dst = tmp_path / "py-cli"
    r = subprocess.run(["sh", "-c", '"$0" -c "$1" "$2" | "$3" restore --in - --store "$4"',
                        py, code_out, store_path, fstore_cli(), str(dst)],
                       capture_output=True, text=True, timeout=HANG_S)
    assert r.returncode == 0, r.stderr
    assert_same_store(source, dst)


# -- fstore tail --seed (no Kafka client starts) -------------------------------------------

def schema_file(tmp_path):
    path = tmp_path / "users.avsc"
    path.write_text(json.dumps(SCHEMA))
    return str(path)


def test_tail_seed_failure_exits_1_and_leaves_no_store(server, tmp_path):
    dst = tmp_path / "seeded"
    r = run("tail", "--brokers", "127.0.0.1:1", "--topic", "users", "--table", "users",
            "--schema", schema_file(tmp_path), "--store", str(dst), "--until-caught-up",
            "--timeout", "5", "--seed", server.url("/damaged"), text=True)
    assert r.returncode == 1
    assert ("fstore tail: cannot open store %s: seeding %s (store.seed): %s is damaged"
            % (dst, dst, server.shown("/damaged"))) in r.stderr, r.stderr
    assert "nothing was restored (FSTORE_ERR_CORRUPT)" in r.stderr
    assert_no_secret(r.stdout, r.stderr)
    assert_no_store(dst)


def test_tail_seed_is_interrupted_by_a_signal(source, server, tmp_path):
    # A seed that stalls halfway: SIGINT ends fstore tail at once (killed by
    # the signal), rather than after the transfer gives up (exit 1).
    dst = tmp_path / "seeded"
    p = subprocess.Popen([fstore_cli(), "tail", "--brokers", "127.0.0.1:1", "--topic", "users",
                          "--schema", schema_file(tmp_path), "--store", str(dst), "--table",
                          "users", "--seed", server.url("/stall")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stalled.wait(HANG_S), "the seed was never requested"
        # The restore has read the header and started building the store.
        deadline = time.monotonic() + HANG_S
        while not (dst.is_dir() and os.listdir(dst)) and time.monotonic() < deadline:
            time.sleep(0.01)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=HANG_S)
    finally:
        p.kill()
        p.wait()
    assert p.returncode == -signal.SIGINT, err
    assert not (dst / "data.mdb").exists()
    assert_no_secret(out, err)
    # What the killed restore left is cleared by the next one.
    assert [n.startswith(".restore-") for n in os.listdir(dst)] == [True]
    fstore.restore(server.url("/snap"), dst)
    assert_store_files_only(dst)
    assert_same_store(source, dst)
