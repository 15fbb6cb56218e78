"""Compression of local static files (root, alias, index, try_files and
error_page files served by rampart itself).

The rules are those of proxied responses (see test_compress.py): the file's
size is its known length for *_min_length, its type comes from the MIME
table, a `types` block or default_type; 200 answers and error_page files
answered with 404 or 403 are compressed. Every body is checked byte for
byte (sha256 after decoding) against the file on disk.

One instance (module fixture `srv`) holds most configurations as
locations over one directory of generated files; a backend behind
try_files' fallback shows what reaches a backend (nothing, for files that
exist). The slow-client case has its own instance.

All of it is rampart_only: brotli, zstd and gzip_vary on by default are
rampart's.
"""

import os
import re
import socket
import time

import pytest

import compress_helpers as ch
import helpers
from compress_helpers import MiB, decode, sha, text_body
from helpers import Client, Reader, read_head, split_head, wait_for

pytestmark = pytest.mark.rampart_only

CODINGS = ["gzip", "br", "zstd"]
SIZES = [0, 1, 19, 20, 64 * 1024, 5 * MiB]
MIN = 20  # *_min_length default
BIG = 5 * MiB
ALL_AE = "gzip, br, zstd"


def size_name(n):
    return "s%d.txt" % n


def size_body(n):
    return text_body(n, n % 7 + 1)


# every generated file: relative path -> content
def site_files():
    files = {size_name(n): size_body(n) for n in SIZES}
    files.update({
        "pic.png": text_body(5000, 2),      # text inside, but typed image/png
        "data.dat": text_body(5000, 3),     # no MIME table entry
        "page.cst": text_body(5000, 4),     # only in a `types` block
        "idx/index.html": text_body(3000, 5),
        "errors/404.html": text_body(4000, 6),
        "errors/403.html": text_body(2500, 6),
    })
    return files


def make_site(root):
    files = site_files()
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.makedirs(os.path.join(root, "tf"), exist_ok=True)
    os.symlink(os.path.join("..", size_name(BIG)), os.path.join(root, "tf", "link.txt"))
    return files


ALL_ON = ("gzip on; gzip_types text/plain;\nbrotli on; brotli_types text/plain;\n"
          "zstd on; zstd_types text/plain;")


def module_conf(root):
    locs = {
        "/all/": "alias %s/;\n%s" % (root, ALL_ON),
        "/all0/": "alias %s/;\n%s\ngzip_min_length 0; brotli_min_length 0; "
                  "zstd_min_length 0;" % (root, ALL_ON),
        "/h10/": "alias %s/;\ngzip on; gzip_types text/plain; gzip_http_version 1.0;" % root,
        "/star/": "alias %s/;\ngzip on; gzip_types *;" % root,
        "/deftype/": "alias %s/;\ndefault_type text/x-log;\ngzip on; gzip_types text/x-log;"
                     % root,
        "/octet/": "alias %s/;\ndefault_type application/octet-stream;\n"
                   "gzip on; gzip_types text/plain;" % root,
        "/custom/": "alias %s/;\ntypes { text/x-custom cst; }\n"
                    "gzip on; gzip_types text/x-custom;" % root,
        "/sf-on/": "alias %s/;\nsendfile on; tcp_nopush on;\n%s" % (root, ALL_ON),
        "/sf-off/": "alias %s/;\nsendfile off;\n%s" % (root, ALL_ON),
        "/idx/": "alias %s/idx/;\nindex index.html;\ngzip on;" % root,
        "/tf/": "try_files $uri @app;\ngzip on; gzip_types text/plain;",
        "@app": "proxy_pass http://@b@;",
        "/ep/": "alias %s/;\nerror_page 404 /errors/404.html;" % root,
        "/deny/": "deny all;\nerror_page 403 /errors/403.html;",
        "/errors/": "alias %s/errors/;\ngzip on;" % root,
    }
    body = "".join("        location %s {\n%s\n        }\n" % (
        k, "\n".join("            " + ln for ln in v.splitlines())) for k, v in locs.items())
    return """
    server {
        listen @LISTEN@;
        listen @LISTEN2@ http2;
        root %s;
%s
    }
""" % (root, body)


class Srv:
    def __init__(self, r, b, root, files):
        self.r = r
        self.b = b
        self.root = root
        self.files = files
        self.port = r.ports[0]
        self.h2port = r.ports[1]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    b_ = helpers.binary()
    if not (os.path.isfile(b_) and os.access(b_, os.X_OK)):
        pytest.skip("RAMPART_BIN=%s is not an executable" % b_)
    if helpers.is_nginx():
        pytest.skip("rampart only")
    base = tmp_path_factory.mktemp("cstatic")
    root = str(base / "site")
    files = make_site(root)
    b = helpers.Backend("app", ch.scripted_handler(), timeout=30)
    r = helpers.Rampart(base / "r", module_conf(root), backends={"b": b}, nports=2)
    yield Srv(r, b, root, files)
    r.stop()
    b.close()
    rep = ch.sanitizer_report(r)
    if rep:
        pytest.fail("sanitizer report in %s:\n%s" % (r.tmp, rep))


# ---------------------------------------------------------------- client side

def req(port, path, ae=None, headers=(), method="GET", version="HTTP/1.1", timeout=20.0):
    hdrs = list(headers)
    if ae is not None:
        hdrs.append(("Accept-Encoding", ae))
    with Client(port, timeout=timeout) as c:
        return c.request(method, path, headers=hdrs, version=version)


def vary_tokens(values):
    out = []
    for v in values:
        out += [t.strip().lower() for t in v.split(",") if t.strip()]
    return out


def assert_compressed(resp, coding, expected, ctype="text/plain"):
    assert resp.status in (200, 403, 404), resp
    assert resp.header("Content-Encoding") == coding, resp
    assert not resp.has("Content-Length"), resp
    assert resp.header("Transfer-Encoding") == "chunked", resp
    assert resp.complete, resp
    assert vary_tokens(resp.header_all("Vary")) == ["accept-encoding"], resp
    assert (resp.header("Content-Type") or "").split(";")[0] == ctype, resp
    out = decode(coding, resp.body)
    assert len(out) == len(expected) and sha(out) == sha(expected)


def assert_identity(resp, expected, vary, ctype="text/plain"):
    """Sent as it is, with its length; vary: whether Vary: Accept-Encoding
    is expected (the file could have been compressed for another client)."""
    assert not resp.has("Content-Encoding"), resp
    assert not resp.has("Transfer-Encoding"), resp
    assert resp.header("Content-Length") == str(len(expected)), resp
    assert resp.complete, resp
    assert (resp.header("Content-Type") or "").split(";")[0] == ctype, resp
    assert ("accept-encoding" in vary_tokens(resp.header_all("Vary"))) == vary, resp
    assert sha(resp.body) == sha(expected)


def fd_count(pid):
    """Open descriptors of pid and its direct children (the workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if int(entry) == pid or ppid == pid:
                total += len(os.listdir("/proc/%s/fd" % entry))
        except (OSError, IndexError, ValueError):
            continue
    return total


# ================================================================ sizes, HTTP/1.1

@pytest.mark.parametrize("size", SIZES, ids=lambda s: "size%d" % s)
@pytest.mark.parametrize("coding", CODINGS)
def test_sizes_h1(srv, coding, size):
    """Below min_length (20): identity with Content-Length and no Vary;
    from 20 bytes: chunked, Content-Encoding, Vary, exact bytes."""
    expected = size_body(size)
    resp = req(srv.port, "/all/" + size_name(size), ae=coding)
    assert resp.status == 200, resp
    assert resp.has("Last-Modified"), resp
    if size < MIN:
        assert_identity(resp, expected, vary=False)
        return
    assert_compressed(resp, coding, expected)
    if size >= 64 * 1024:
        assert len(resp.body) < size * 0.7, (size, len(resp.body))


@pytest.mark.parametrize("coding", CODINGS)
def test_empty_file_min_length_0_h1(srv, coding):
    """An empty file with *_min_length 0: a coded (non-empty) stream that
    decodes to nothing; the same file elsewhere stays a bare 0-length body."""
    resp = req(srv.port, "/all0/" + size_name(0), ae=coding)
    assert resp.status == 200, resp
    assert resp.body, "an empty coded body still has the coding's framing"
    assert_compressed(resp, coding, b"")
    resp = req(srv.port, "/all0/" + size_name(1), ae=coding)
    assert_compressed(resp, coding, size_body(1))
    resp = req(srv.port, "/all/" + size_name(0), ae=coding)
    assert_identity(resp, b"", vary=False)


# ================================================================ sizes, HTTP/2

@pytest.mark.parametrize("loc,size", [("/all/", s) for s in SIZES] + [("/all0/", 0)],
                         ids=lambda v: v.strip("/") if isinstance(v, str) else "size%d" % v)
@pytest.mark.parametrize("coding", CODINGS)
def test_sizes_h2(srv, coding, loc, size):
    pytest.importorskip("h2")
    expected = size_body(size)
    with ch.H2Client(srv.h2port, timeout=20) as c:
        res = c.get(loc + size_name(size), headers=[("accept-encoding", coding)], timeout=30)
    assert res.ended and res.reset is None and res.status == 200, res
    assert res.header("content-type") == "text/plain", res
    if size < MIN and loc == "/all/":
        assert res.header("content-encoding") is None, res
        assert res.header("content-length") == str(size), res
        assert "accept-encoding" not in vary_tokens(res.header_all("vary")), res
        assert bytes(res.body) == expected
        return
    assert res.header("content-encoding") == coding, res
    assert res.header("content-length") is None, res
    assert vary_tokens(res.header_all("vary")) == ["accept-encoding"], res
    assert res.body, "a coded stream is never empty, even for an empty file"
    out = decode(coding, bytes(res.body))
    assert len(out) == size and sha(out) == sha(expected)


def test_h2_several_streams_one_connection(srv):
    """Compressed and plain files interleaved as concurrent streams of one
    connection: each stream gets its own exact body."""
    pytest.importorskip("h2")
    jobs = [("gzip", 64 * 1024), ("br", BIG), ("zstd", 20), (None, BIG), ("gzip", BIG),
            ("zstd", 64 * 1024)]
    with ch.H2Client(srv.h2port, timeout=20, window=1 << 30) as c:
        results = []
        for coding, size in jobs:
            hdrs = [("accept-encoding", coding)] if coding else []
            results.append(c.start("/all/" + size_name(size), headers=hdrs))
        deadline = time.monotonic() + 40
        while not all(r.ended or r.reset is not None for r in results) and not c.eof:
            assert time.monotonic() < deadline, results
            c.pump(0.5)
    for (coding, size), res in zip(jobs, results):
        assert res.ended and res.status == 200, res
        assert res.header("content-encoding") == coding, res
        assert sha(decode(coding, bytes(res.body))) == sha(size_body(size))


# ================================================================ HTTP/1.0

@pytest.mark.parametrize("coding", CODINGS)
def test_http10_default_identity(srv, coding):
    """gzip_http_version 1.1 (the default): an HTTP/1.0 client gets the file
    as it is, with its length; Vary says another client could differ."""
    resp = req(srv.port, "/all/" + size_name(64 * 1024), ae=coding, version="HTTP/1.0")
    assert resp.status == 200
    assert_identity(resp, size_body(64 * 1024), vary=True)


@pytest.mark.parametrize("keepalive", [False, True])
def test_http10_gzip_http_version_10(srv, keepalive):
    """gzip_http_version 1.0: compressed for HTTP/1.0, the body delimited by
    closing the connection (no chunked, no length), even when the client
    asked for keep-alive."""
    expected = size_body(BIG)
    hdrs = [("Connection", "keep-alive")] if keepalive else []
    with Client(srv.port, timeout=20) as c:
        resp = c.request("GET", "/h10/" + size_name(BIG), headers=hdrs + [
            ("Accept-Encoding", "gzip")], version="HTTP/1.0")
        assert c.reader.eof, "the body must end with the connection"
    assert resp.status == 200
    assert resp.header("Content-Encoding") == "gzip", resp
    assert not resp.has("Content-Length") and not resp.has("Transfer-Encoding"), resp
    assert "keep-alive" not in (resp.header("Connection") or "").lower(), resp
    assert vary_tokens(resp.header_all("Vary")) == ["accept-encoding"], resp
    assert sha(decode("gzip", resp.body)) == sha(expected)
    # HTTP/1.1 there: chunked
    assert_compressed(req(srv.port, "/h10/" + size_name(BIG), ae="gzip"), "gzip", expected)


# ================================================================ HEAD, 304, Range

@pytest.mark.parametrize("coding", CODINGS)
def test_head(srv, coding):
    """HEAD: no Content-Encoding, the file's Content-Length, Vary; no body
    bytes follow (the next answer on the connection parses right)."""
    expected = size_body(64 * 1024)
    with Client(srv.port, timeout=20) as c:
        resp = c.request("HEAD", "/all/" + size_name(64 * 1024),
                         headers=[("Accept-Encoding", coding)])
        assert resp.status == 200, resp
        assert not resp.has("Content-Encoding") and not resp.has("Transfer-Encoding"), resp
        assert resp.header("Content-Length") == str(64 * 1024), resp
        assert vary_tokens(resp.header_all("Vary")) == ["accept-encoding"], resp
        assert resp.has("Last-Modified"), resp
        resp = c.request("GET", "/all/" + size_name(64 * 1024),
                         headers=[("Accept-Encoding", coding)])
        assert_compressed(resp, coding, expected)


def test_head_h2(srv):
    pytest.importorskip("h2")
    with ch.H2Client(srv.h2port) as c:
        res = c.get("/all/" + size_name(64 * 1024), headers=[("accept-encoding", "gzip")],
                    method="HEAD")
    assert res.ended and res.status == 200, res
    assert res.header("content-encoding") is None, res
    assert res.header("content-length") == str(64 * 1024), res
    assert vary_tokens(res.header_all("vary")) == ["accept-encoding"], res
    assert bytes(res.body) == b""


@pytest.mark.parametrize("coding", CODINGS)
def test_if_modified_since(srv, coding):
    """If-Modified-Since equal to the file's Last-Modified: 304, no body, no
    Content-Encoding; another date: the compressed 200."""
    expected = size_body(64 * 1024)
    path = "/all/" + size_name(64 * 1024)
    first = req(srv.port, path, ae=coding)
    assert_compressed(first, coding, expected)
    lm = first.header("Last-Modified")
    st = os.stat(os.path.join(srv.root, size_name(64 * 1024)))
    assert lm == time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(st.st_mtime))
    with Client(srv.port, timeout=10) as c:
        resp = c.request("GET", path, headers=[("Accept-Encoding", coding),
                                               ("If-Modified-Since", lm)])
        assert resp.status == 304, resp
        assert not resp.has("Content-Encoding") and not resp.has("Transfer-Encoding"), resp
        assert resp.header("Content-Length") in (None, "0"), resp
        # the Vary the 200 carries (RFC 9110 15.4.5)
        assert resp.header("Vary") == first.header("Vary") == "Accept-Encoding", resp
        # the next answer on the connection starts right after the head
        resp = c.request("GET", path, headers=[("Accept-Encoding", coding),
                                               ("If-Modified-Since", lm),
                                               ("Connection", "close")])
        assert resp.status == 304, resp
        assert c.reader.read_to_eof() == b""
    resp = req(srv.port, path, ae=coding,
               headers=[("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")])
    assert_compressed(resp, coding, expected)


def test_range_request_gets_whole_file_compressed(srv):
    """Static files answer a Range request with the whole 200 here: that
    full answer is compressed, with no Content-Range."""
    resp = req(srv.port, "/all/" + size_name(64 * 1024), ae="zstd",
               headers=[("Range", "bytes=0-99")])
    if resp.status == 206:
        assert_identity(resp, size_body(64 * 1024)[:100], vary=False)
        return
    assert_compressed(resp, "zstd", size_body(64 * 1024))
    assert not resp.has("Content-Range") and not resp.has("Accept-Ranges"), resp


# ================================================================ types

def test_type_not_listed_stays_identity(srv):
    """A .png (image/png) is not in *_types: identity, no Vary; with
    `gzip_types *` the same file is compressed."""
    body = srv.files["pic.png"]
    resp = req(srv.port, "/all/pic.png", ae=ALL_AE)
    assert resp.status == 200
    assert_identity(resp, body, vary=False, ctype="image/png")
    resp = req(srv.port, "/star/pic.png", ae=ALL_AE)
    assert_compressed(resp, "gzip", body, ctype="image/png")
    resp = req(srv.port, "/star/" + size_name(64 * 1024), ae="gzip")
    assert_compressed(resp, "gzip", size_body(64 * 1024))


@pytest.mark.parametrize("path,file,ctype,compressed", [
    ("/deftype/data.dat", "data.dat", "text/x-log", True),  # default_type
    ("/octet/data.dat", "data.dat", "application/octet-stream", False),
    ("/all/data.dat", "data.dat", "text/plain", True),  # default default_type
    ("/custom/page.cst", "page.cst", "text/x-custom", True),  # `types` block
    ("/custom/s65536.txt", "s65536.txt", "text/plain", False),  # not in that block
    ("/all/page.cst", "page.cst", "text/plain", True),  # no such extension in the table
    ("/idx/", "idx/index.html", "text/html", True),  # index; text/html always listed
    ("/idx/index.html", "idx/index.html", "text/html", True),
])
def test_type_sources(srv, path, file, ctype, compressed):
    body = srv.files[file]
    resp = req(srv.port, path, ae="gzip")
    assert resp.status == 200, resp
    if compressed:
        assert_compressed(resp, "gzip", body, ctype=ctype)
    else:
        assert_identity(resp, body, vary=False, ctype=ctype)


# ================================================================ sendfile / tcp_nopush

@pytest.mark.parametrize("ae", ["gzip", "br", "zstd", None])
@pytest.mark.parametrize("loc", ["/sf-on/", "/sf-off/", "/all/"])
def test_sendfile_and_nopush_do_not_matter(srv, loc, ae):
    expected = size_body(BIG)
    resp = req(srv.port, loc + size_name(BIG), ae=ae)
    assert resp.status == 200
    if ae is None:
        assert_identity(resp, expected, vary=True)
    else:
        assert_compressed(resp, ae, expected)


# ================================================================ keep-alive

def test_keepalive_sequence_then_plain(srv):
    """Several compressed files on one connection in a row (codings, sizes,
    sendfile on and off, a HEAD and a 404 page among them), then plain
    ones; no descriptor is left behind afterwards."""
    for _ in range(2):
        req(srv.port, "/all/" + size_name(20), ae="gzip")
    time.sleep(0.2)
    fds_before = fd_count(srv.r.pid)
    seq = [
        ("GET", "/all/" + size_name(64 * 1024), "gzip"),
        ("GET", "/sf-on/" + size_name(BIG), "br"),
        ("GET", "/all/" + size_name(20), "zstd"),
        ("HEAD", "/all/" + size_name(BIG), "gzip"),
        ("GET", "/sf-off/" + size_name(64 * 1024), "gzip"),
        ("GET", "/all0/" + size_name(0), "br"),
        ("GET", "/idx/", "gzip"),
        ("GET", "/all/" + size_name(BIG), "zstd"),
        ("GET", "/all/" + size_name(64 * 1024), None),
        ("GET", "/sf-on/" + size_name(BIG), None),
    ]
    with Client(srv.port, timeout=20) as c:
        for method, path, ae in seq:
            hdrs = [("Accept-Encoding", ae)] if ae else []
            resp = c.request(method, path, headers=hdrs)
            assert resp.status == 200, (path, resp)
            assert "close" not in (resp.header("Connection") or "").lower(), resp
            if path == "/idx/":
                body, ctype = srv.files["idx/index.html"], "text/html"
            else:
                body, ctype = size_body(int(re.search(r"s(\d+)", path).group(1))), "text/plain"
            if method == "HEAD":
                assert resp.header("Content-Length") == str(len(body)), resp
                assert not resp.has("Content-Encoding"), resp
            elif ae:
                assert_compressed(resp, ae, body, ctype=ctype)
            else:
                assert_identity(resp, body, vary=True, ctype=ctype)
        assert not c.closed(timeout=0.3)
    # the connection is gone: the files opened for it are closed too
    assert wait_for(lambda: fd_count(srv.r.pid) <= fds_before, 3), (
        fds_before, fd_count(srv.r.pid))


@pytest.mark.parametrize("coding", CODINGS)
def test_client_aborts_mid_file(srv, coding):
    """Clients leaving in the middle of a compressed file: no descriptor
    stays open, the instance keeps serving exact bytes."""
    req(srv.port, "/all/" + size_name(20), ae=coding)
    time.sleep(0.2)
    fds_before = fd_count(srv.r.pid)
    for i in range(4):
        with Client(srv.port, timeout=10) as c:
            c.send(helpers.build_request("GET", "/all/" + size_name(BIG),
                                         headers=[("Accept-Encoding", coding)]))
            head = read_head(c.reader)
            assert b" 200 " in head
            want = 2000 * (i + 1)
            while len(c.reader.buf) < want and c.reader._fill():
                pass
    assert wait_for(lambda: fd_count(srv.r.pid) <= fds_before, 5), (
        fds_before, fd_count(srv.r.pid))
    assert_compressed(req(srv.port, "/all/" + size_name(64 * 1024), ae=coding), coding,
                      size_body(64 * 1024))
    assert srv.r.alive()


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_file_shrinking_mid_transfer_is_no_complete_body(srv, coding):
    """The file is cut short while a compressed copy is on its way: the
    connection closes without the last chunk, so the client cannot take
    the short body for a whole one; the instance keeps serving."""
    path = os.path.join(srv.root, "shrink-%s.txt" % coding)
    with open(path, "wb") as f:
        # hardly compressible, so the socket buffers hold a small part of it
        f.write(ch.random.Random(40).randbytes(32 * MiB))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(10)
    try:
        s.connect((helpers.HOST, srv.port))
        s.sendall(helpers.build_request("GET", "/all/shrink-%s.txt" % coding,
                                        headers=[("Accept-Encoding", coding)]))
        rd = Reader(s)
        line, hdrs = split_head(read_head(rd))
        assert b" 200 " in line
        assert dict((k.lower(), v) for k, v in hdrs).get("content-encoding") == coding
        time.sleep(0.5)  # not reading: rampart stops at what the socket holds
        os.truncate(path, MiB)
        t0 = time.monotonic()
        dechunk = ch.ChunkedDecoder()
        dec = ch.Decoder(coding)
        got = 0
        data = rd.buf
        while True:
            got += len(dec.feed(dechunk.feed(data)))
            if dechunk.done:
                break
            assert time.monotonic() - t0 < 8, "the connection stays open"
            data = s.recv(65536)
            if not data:
                break
    finally:
        s.close()
    assert not dechunk.done, "a cut file must not end like a complete body"
    assert not dec.finished and 0 < got < 32 * MiB, got
    assert wait_for(lambda: "a file being sent was truncated" in srv.r.error_log(), 3)
    assert_compressed(req(srv.port, "/all/" + size_name(64 * 1024), ae=coding), coding,
                      size_body(64 * 1024))


# ================================================================ try_files, error_page

def test_try_files_symlink_large_file(srv):
    """try_files finds a symlink to the 5 MiB file: compressed (exact), no
    backend involved; a missing file falls back to the backend, which gets
    the client's Accept-Encoding."""
    n = len(srv.b.requests)
    resp = req(srv.port, "/tf/link.txt", ae="gzip")
    assert_compressed(resp, "gzip", size_body(BIG))
    time.sleep(0.1)
    assert len(srv.b.requests) == n, "a static hit must not reach the backend"
    resp = req(srv.port, "/tf/missing.txt?size=300&seed=2", ae="gzip")
    assert srv.b.wait_requests(n + 1)
    breq = srv.b.requests[-1]
    assert breq.target == "/tf/missing.txt?size=300&seed=2", breq
    assert breq.header_all("Accept-Encoding") == ["gzip"], breq
    # the @app location has no compression: the backend's bytes as they are
    assert_identity(resp, text_body(300, 2), vary=False)


@pytest.mark.parametrize("path,status,page", [
    ("/ep/nothing-here.txt", 404, "errors/404.html"),
    ("/deny/anything.txt", 403, "errors/403.html"),
])
@pytest.mark.parametrize("ae", ["gzip", "zstd", None])
def test_error_page_file_compressed(srv, path, status, page, ae):
    """error_page 404/403 with a static html page: that page is compressed
    (config of the location that serves it) with the original status."""
    body = srv.files[page]
    resp = req(srv.port, path, ae=ae)
    assert resp.status == status, resp
    if ae == "gzip":
        assert_compressed(resp, "gzip", body, ctype="text/html")
    else:
        # /errors/ has gzip only: zstd-only clients and plain ones get it as is
        assert_identity(resp, body, vary=True, ctype="text/html")


# ================================================================ slow client, memory

@pytest.mark.slow
def test_slow_client_20mib_file(rampart, tmp_path):
    """A 20 MiB text file, gzip, to a client that stalls 2 s then reads
    slowly: exact bytes, and rampart does not pile up the output."""
    total = 20 * MiB
    blocks = [text_body(MiB, 30 + i) for i in range(4)]
    rnd = ch.random.Random(7)
    hsh = ch.hashlib.sha256()
    root = tmp_path / "bigsite"
    root.mkdir()
    with open(root / "big.txt", "wb") as f:
        for _ in range(total // MiB):
            blk = blocks[rnd.randrange(len(blocks))]
            f.write(blk)
            hsh.update(blk)
    (root / "warm.txt").write_bytes(text_body(30000, 2))
    want = hsh.hexdigest()
    r = rampart("""
    server {
        listen @LISTEN@;
        root %s;
        sendfile on;
        location / { gzip on; gzip_types text/plain; }
    }
    """ % root)
    for _ in range(4):
        resp = helpers.get(r.port, "/warm.txt", headers=[("Accept-Encoding", "gzip")])
        assert resp.header("Content-Encoding") == "gzip"
    time.sleep(0.3)
    base = r.rss_kib()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(20)
    s.connect((helpers.HOST, r.port))
    s.sendall(b"GET /big.txt HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n"
              b"Connection: close\r\n\r\n")
    with helpers.RssSampler(r) as rss:
        rd = Reader(s)
        line, hdrs = split_head(read_head(rd))
        hd = dict((k.lower(), v) for k, v in hdrs)
        assert b" 200 " in line
        assert hd.get("content-encoding") == "gzip" and "content-length" not in hd, hdrs
        res = ch.read_coded_body(s, rd, "gzip", slow=True, deadline=30)
        wire = res.wire
    s.close()
    assert res.complete and res.finished
    assert res.got == total and res.digest == want
    assert wire < total * 0.7
    growth = rss.max - base
    print("slow client (static): %d MiB -> %d KiB on the wire, RSS growth %d KiB"
          % (total >> 20, wire >> 10, growth))
    assert rss.samples > 10
    assert growth < 12 * 1024, "RSS grew by %d KiB (compressed body: %d KiB)" % (
        growth, wire >> 10)


# ================================================================ precompressed files

def _precompressed_site(root):
    """a.txt with .gz, .br and .zst copies; b.txt with .gz only; c.txt.gz
    alone. The copies are made from other text than the originals, so a
    test sees which file was sent."""
    import brotli
    import gzip as gz
    import zstandard
    files = {}
    for name in ("a.txt", "b.txt"):
        files[name] = text_body(9000, 11)
    coded = text_body(7000, 12)
    files["a.txt.gz"] = gz.compress(coded)
    files["a.txt.br"] = brotli.compress(coded)
    files["a.txt.zst"] = zstandard.ZstdCompressor().compress(coded)
    files["b.txt.gz"] = gz.compress(coded)
    files["c.txt.gz"] = gz.compress(coded)
    for name, data in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    return files, coded


@pytest.fixture(scope="module")
def pre(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("pre-site"))
    files, coded = _precompressed_site(root)
    tmp = tmp_path_factory.mktemp("pre")
    r = helpers.Rampart(tmp, """
    server {
        listen @LISTEN@;
        root %s;
        gzip_static on; brotli_static on; zstd_static on;
        location /always/ { alias %s/; gzip_static always; brotli_static off;
                            zstd_static off; }
        location /off/ { alias %s/; gzip_static off; brotli_static off; zstd_static off; }
    }
    """ % (root, root, root))
    r.files, r.coded, r.root = files, coded, root
    yield r
    r.stop()


@pytest.mark.parametrize("ae,want", [
    ("gzip", "gzip"), ("br", "br"), ("zstd", "zstd"),
    ("gzip, br, zstd", "zstd"),  # ties: compression_preference (zstd br gzip)
    ("br;q=0.5, gzip", "gzip"), ("gzip;q=0, br", "br"),
    ("identity", None), ("", None), (None, None), ("deflate", None),
])
def test_precompressed_copy_by_accept_encoding(pre, ae, want):
    """gzip_static, brotli_static, zstd_static: the copy of the coding the
    client takes best is sent as it is on disk, with its length; no coding
    the client takes: the file itself."""
    resp = req(pre.port, "/a.txt", ae=ae)
    assert resp.status == 200
    assert resp.header("Content-Type") == "text/plain", resp
    assert "accept-encoding" in vary_tokens(resp.header_all("Vary")), resp
    if want is None:
        assert not resp.has("Content-Encoding"), resp
        assert resp.body == pre.files["a.txt"]
    else:
        ext = {"gzip": ".gz", "br": ".br", "zstd": ".zst"}[want]
        assert resp.header("Content-Encoding") == want, resp
        assert resp.body == pre.files["a.txt" + ext]
        assert decode(want, resp.body) == pre.coded
    assert resp.header("Content-Length") == str(len(resp.body)), resp


def test_precompressed_missing_copy_falls_back(pre):
    """b.txt has only a .gz copy: a br client gets the file itself; c.txt.gz
    alone answers a gzip client and is a 404 for the others."""
    resp = req(pre.port, "/b.txt", ae="br")
    assert not resp.has("Content-Encoding") and resp.body == pre.files["b.txt"], resp
    resp = req(pre.port, "/b.txt", ae="br, gzip;q=0.5")
    assert resp.header("Content-Encoding") == "gzip" and resp.body == pre.files["b.txt.gz"]
    resp = req(pre.port, "/c.txt", ae="gzip")
    assert resp.status == 200 and resp.header("Content-Encoding") == "gzip", resp
    assert resp.body == pre.files["c.txt.gz"]
    assert req(pre.port, "/c.txt").status == 404
    assert req(pre.port, "/c.txt", ae="br").status == 404


def test_precompressed_always_and_off(pre):
    """`always` sends the .gz copy whatever the client said; `off` never."""
    for ae in (None, "identity", "br"):
        resp = req(pre.port, "/always/a.txt", ae=ae)
        assert resp.header("Content-Encoding") == "gzip", resp
        assert resp.body == pre.files["a.txt.gz"]
    resp = req(pre.port, "/off/a.txt", ae="gzip, br, zstd")
    assert not resp.has("Content-Encoding") and resp.body == pre.files["a.txt"], resp


def test_precompressed_head_304_and_http10(pre):
    """HEAD announces the copy (coding and length, no body); a 304 for it
    carries Vary; an HTTP/1.0 client gets the file itself (gzip_http_version
    1.1 by default)."""
    with Client(pre.port, timeout=10) as c:
        resp = c.request("HEAD", "/a.txt", headers=[("Accept-Encoding", "gzip")])
        assert resp.header("Content-Encoding") == "gzip", resp
        assert resp.header("Content-Length") == str(len(pre.files["a.txt.gz"])), resp
        assert resp.body == b""
        lm = resp.header("Last-Modified")
        resp = c.request("GET", "/a.txt", headers=[("Accept-Encoding", "gzip"),
                                                    ("If-Modified-Since", lm)])
        assert resp.status == 304, resp
        assert resp.header("Vary") == "Accept-Encoding", resp
    resp = req(pre.port, "/a.txt", ae="gzip", version="HTTP/1.0")
    assert not resp.has("Content-Encoding") and resp.body == pre.files["a.txt"], resp


def test_precompressed_config_errors(conf_test):
    rc, out, path = conf_test("server { listen 127.0.0.1:1; gzip_static sometimes; }")
    assert rc != 0
    assert re.search(r'invalid value "sometimes" in "gzip_static" directive, it must be '
                     r'"on", "off" or "always" in \S+:\d+', out), out
