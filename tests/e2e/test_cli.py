"""Command line: -s signals through the pid file, -T, -g, -v, daemon and
user. Each test checks the effect on the running proxy, not only the exit
code."""

import os
import subprocess
import time

import pytest

from helpers import (binary, free_port, get, is_nginx, make_prefix, render_config,
                     wait_for)


def run(*args, timeout=10):
    p = subprocess.run([binary()] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("latin-1")


def test_s_reload_and_stop(rampart):
    r = rampart("""
    server { listen @LISTEN@; location / { return 200 "one"; } }
    """)
    assert get(r.port, "/").text == "one"
    with open(r.conf_path) as f:
        text = f.read()
    with open(r.conf_path, "w") as f:
        f.write(text.replace('"one"', '"two"'))
    rc, out = run("-p", r.tmp + "/", "-c", r.conf_path, "-s", "reload")
    assert rc == 0, out
    assert wait_for(lambda: all(get(r.port, "/").text == "two" for _ in range(5)), timeout=5)
    rc, out = run("-p", r.tmp + "/", "-c", r.conf_path, "-s", "stop")
    assert rc == 0, out
    assert wait_for(lambda: not r.alive(), timeout=5)


def test_s_reopen(rampart):
    r = rampart("""
    server { listen @LISTEN@; location / { return 200 "x"; } }
    """)
    log = os.path.join(r.tmp, "access.log")
    assert get(r.port, "/before").status == 200
    assert wait_for(lambda: "/before" in open(log).read(), timeout=3)
    os.rename(log, log + ".1")
    rc, out = run("-p", r.tmp + "/", "-c", r.conf_path, "-s", "reopen")
    assert rc == 0, out
    time.sleep(0.3)
    assert get(r.port, "/after").status == 200
    assert wait_for(lambda: os.path.exists(log) and "/after" in open(log).read(), timeout=3)
    assert "/after" not in open(log + ".1").read()


def test_s_without_running_process(tmp_path):
    make_prefix(tmp_path)
    conf = tmp_path / "c.conf"
    conf.write_text(render_config(tmp_path, "server { listen 127.0.0.1:%d; }" % free_port(), []))
    rc, out = run("-p", str(tmp_path) + "/", "-c", str(conf), "-s", "reload")
    assert rc == 1
    assert "rampart.pid" in out


@pytest.mark.rampart_only
def test_big_t_dumps_every_file(tmp_path):
    make_prefix(tmp_path)
    (tmp_path / "extra.conf").write_text("# the included one\nserver_tokens off;\n")
    conf = tmp_path / "c.conf"
    conf.write_text(render_config(tmp_path, "include %s/extra.conf;\nserver { listen 127.0.0.1:%d; }"
                                  % (tmp_path, free_port()), []))
    rc, out = run("-T", "-p", str(tmp_path) + "/", "-c", str(conf))
    assert rc == 0, out
    assert "# configuration file %s:" % conf in out
    assert "# configuration file %s/extra.conf:" % tmp_path in out
    assert "# the included one" in out


@pytest.mark.rampart_only
def test_g_directives(tmp_path):
    make_prefix(tmp_path)
    conf = tmp_path / "c.conf"
    conf.write_text("events {}\nhttp { server { listen 127.0.0.1:%d; } }\n" % free_port())
    rc, out = run("-t", "-p", str(tmp_path) + "/", "-c", str(conf), "-g", "worker_processes 3;")
    assert rc == 0, out
    rc, out = run("-t", "-p", str(tmp_path) + "/", "-c", str(conf), "-g", "bogus_directive 1;")
    assert rc == 1
    assert 'unknown directive "bogus_directive"' in out


@pytest.mark.rampart_only
def test_version_and_help():
    rc, out = run("-v")
    assert rc == 0 and out.startswith("rampart version: rampart/")
    rc, out = run("-h")
    assert rc == 0 and "-s signal" in out and "-g directives" in out


@pytest.mark.rampart_only
def test_daemon_on(tmp_path):
    """daemon on: the command returns, the served process is another one,
    named in the pid file, and -s quit ends it."""
    make_prefix(tmp_path)
    port = free_port()
    text = render_config(tmp_path, "server { listen 127.0.0.1:%d; return 200 \"d\"; }" % port, [])
    conf = tmp_path / "c.conf"
    conf.write_text(text.replace("daemon off;", "daemon on;"))
    rc, out = run("-p", str(tmp_path) + "/", "-c", str(conf))
    assert rc == 0, out
    pidfile = tmp_path / "rampart.pid"
    assert wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), timeout=5)
    pid = int(pidfile.read_text())
    try:
        assert wait_for(lambda: get(port, "/").text == "d", timeout=5)
    finally:
        run("-p", str(tmp_path) + "/", "-c", str(conf), "-s", "quit")
        assert wait_for(lambda: not os.path.exists("/proc/%d" % pid), timeout=10)
    assert not pidfile.exists()


@pytest.mark.rampart_only
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_user_drops_privileges(rampart):
    """`user nobody;` takes effect after the ports are bound and the logs
    opened: the whole process then runs as nobody."""
    r = rampart("""
    server { listen @LISTEN@; location / { return 200 "u"; } }
    """, main_extra="user nobody;")
    assert get(r.port, "/").text == "u"
    with open("/proc/%d/status" % r.proc.pid) as f:
        uid_line = [l for l in f.read().splitlines() if l.startswith("Uid:")][0]
    assert uid_line.split()[1:] == ["65534"] * 4
