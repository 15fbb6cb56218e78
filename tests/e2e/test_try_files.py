"""try_files: static files first, then a named location, a URI or a code;
what the backend receives on the fallback."""

import os

import pytest

from helpers import get


def _site(tmp):
    root = os.path.join(tmp, "site")
    os.makedirs(os.path.join(root, "docs"), exist_ok=True)
    with open(os.path.join(root, "hello.txt"), "w") as f:
        f.write("static hello")
    with open(os.path.join(root, "docs", "index.html"), "w") as f:
        f.write("docs index")
    return root


def test_try_files_static_then_named_backend(rampart, backend, tmp_path):
    b = backend("app")
    root = _site(str(tmp_path))
    r = rampart("""
    server {
        listen @LISTEN@;
        root %s;
        location / { try_files $uri $uri/ @app; }
        location @app { proxy_pass http://@b@; proxy_set_header X-Tried yes; }
        location /strict/ { try_files $uri =404; }
        location /go/ { try_files $uri /fallback?from=go; }
        location = /fallback { return 200 "fallback $args"; }
    }
    """ % root, backends={"b": b})
    resp = get(r.port, "/hello.txt")
    assert resp.status == 200 and resp.body == b"static hello"
    resp = get(r.port, "/docs/")
    assert resp.status == 200 and resp.body == b"docs index"
    assert b.requests == []
    resp = get(r.port, "/api/users?id=7")
    assert resp.status == 200 and resp.text == "ok from app"
    assert b.last.target == "/api/users?id=7" and b.last.header("X-Tried") == "yes"
    assert get(r.port, "/strict/nothing").status == 404
    resp = get(r.port, "/go/nothing")
    assert resp.status == 200 and resp.text == "fallback from=go"
    assert len(b.requests) == 1


@pytest.mark.rampart_only
def test_try_files_bad_last_argument_is_config_error(conf_test):
    """A last argument that is neither a URI, @name nor =code is caught at
    -t (nginx accepts it and fails at request time)."""
    rc, out, path = conf_test("""
    server { listen @LISTEN@; location / { try_files $uri nothing; } }
    """)
    assert rc == 1
    assert "try_files" in out and path in out
