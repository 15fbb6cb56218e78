"""pytest wiring for the end-to-end suite.

Run:  RAMPART_BIN=$PWD/rampart /usr/bin/python3 -m pytest -q tests/e2e
The suite is checked against real nginx (RAMPART_BIN=/usr/sbin/nginx);
tests marked rampart_only assert where rampart deliberately differs from
nginx and are skipped when the binary's basename is nginx.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import helpers  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "rampart_only: asserts rampart behaviour that "
                            "intentionally differs from nginx (skipped under nginx)")
    config.addinivalue_line("markers", "slow: large transfers (still in the default run)")


def pytest_collection_modifyitems(config, items):
    if helpers.is_nginx():
        skip = pytest.mark.skip(reason="rampart_only: nginx behaves differently on purpose")
        for item in items:
            if "rampart_only" in item.keywords:
                item.add_marker(skip)
    if os.environ.get("RAMPART_SKIP_SLOW") == "1":
        skip = pytest.mark.skip(reason="RAMPART_SKIP_SLOW=1")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)


def _check_binary():
    b = helpers.binary()
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        pytest.skip("RAMPART_BIN=%s is not an executable" % b)


def _asan_check(inst):
    if os.environ.get("RAMPART_ASAN") != "1":
        return
    text = inst.stderr() + inst.error_log()
    if "AddressSanitizer" in text or "runtime error:" in text or "LeakSanitizer" in text:
        pytest.fail("sanitizer report in %s:\n%s" % (inst.tmp, text[-6000:]))


@pytest.fixture
def rampart(tmp_path):
    """Factory: rampart(http_body, backends={'b1': Backend}, workers=2, ...)
    starts the binary with the standard main part and returns a
    helpers.Rampart. Every instance is stopped at teardown."""
    _check_binary()
    instances = []
    counter = [0]

    def factory(http, backends=None, **kw):
        counter[0] += 1
        d = tmp_path / ("r%d" % counter[0])
        d.mkdir()
        inst = helpers.Rampart(d, http, backends=backends, **kw)
        instances.append(inst)
        return inst

    yield factory
    for inst in instances:
        inst.stop()
    for inst in instances:
        _asan_check(inst)


@pytest.fixture
def backend():
    """Factory: backend(name='b', handler=...) starts a helpers.Backend."""
    made = []

    def factory(name="backend", handler=None, **kw):
        b = helpers.Backend(name, handler, **kw)
        made.append(b)
        return b

    yield factory
    for b in made:
        b.close()


@pytest.fixture
def conf_test(tmp_path):
    """Factory: conf_test(http_body or full_text, full=False) writes a config
    and runs `-t` on it; returns (rc, output, conf_path)."""
    _check_binary()
    helpers.make_prefix(tmp_path)

    def factory(http, full=False, name="rampart.conf", backends=None):
        path = tmp_path / name
        if full:
            text = http.replace("@TMP@", str(tmp_path))
        else:
            text = helpers.render_config(tmp_path, http, [helpers.free_port() for _ in range(3)],
                                         backends)
        path.write_text(text)
        rc, out = helpers.run_test_config(path, tmp_path)
        return rc, out, str(path)

    return factory
