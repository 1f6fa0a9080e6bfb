"""`watcher fetch --proxy/--ca-file` and feeds' `proxy`/`ca_file` in `watcher poll` and
`watcher check`, through a real proxy (proxy.py) to an HTTPS server with a private CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.test_fetch_and_poll import FEED, write_config
from tests.support.httpserver import LoopbackServer, Reply
from tests.support.proxy import PASSWORD, USER, ForwardProxy
from tests.support.tls import PrivateCA
from tests.support.waiting import wait_for
from watcher.cli import app

pytestmark = pytest.mark.usefixtures("no_environment_proxy")


@pytest.fixture
def https_server(private_ca: PrivateCA) -> Iterator[LoopbackServer]:
    with LoopbackServer(tls=private_ca.server_context()) as running:
        running.route(
            "/feed.xml", Reply(headers={"Content-Type": "application/rss+xml"}, body=FEED.encode())
        )
        yield running


def test_fetch_goes_through_the_given_proxy_trusting_the_given_ca(
    https_server: LoopbackServer, proxy: ForwardProxy, private_ca: PrivateCA
) -> None:
    url = https_server.url("/feed.xml")
    refused = CliRunner().invoke(app, ["fetch", url])
    fetched = CliRunner().invoke(
        app, ["fetch", "--proxy", proxy.url(), "--ca-file", str(private_ca.pem), url]
    )

    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        f"{url}: TLS error: certificate verify failed: unable to get local issuer certificate "
        "(a server you trust? give its CA's certificate, or its own, as the `ca_file`)"
    )
    assert fetched.exit_code == 0, fetched.output
    assert "Ankara and Damascus discuss refugee returns" in fetched.stdout
    assert wait_for(lambda: proxy.saw(f"CONNECT 127.0.0.1:{https_server.port}"))


def test_fetch_refuses_a_bad_proxy_or_ca_file_before_fetching(
    https_server: LoopbackServer, tmp_path: Path
) -> None:
    url = https_server.url("/feed.xml")
    result = CliRunner().invoke(
        app, ["fetch", "--proxy", "ftp://p:21", "--ca-file", str(tmp_path / "none.pem"), url]
    )

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "--proxy: expected an http://, https:// or socks5:// proxy URL, or 'direct'",
        f"--ca-file: {tmp_path / 'none.pem'}: no such file",
    ]
    assert https_server.requests == []


def test_poll_reaches_each_feed_its_own_way_and_a_missing_proxy_secret_fails_that_feed_alone(
    https_server: LoopbackServer, proxy: ForwardProxy, private_ca: PrivateCA, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        f"""
[http]
proxy = "http://{USER}:${{PROXY_PASSWORD}}@127.0.0.1:{proxy.port}"
[[feeds]]
name = "intranet"
url = "{https_server.url("/feed.xml")}"
ca_file = "{private_ca.pem.name}"
[[feeds]]
name = "elsewhere"
url = "{https_server.url("/feed.xml")}?b"
ca_file = "{private_ca.pem.name}"
proxy = "http://{USER}:${{OTHER_PASSWORD}}@127.0.0.1:{proxy.port}"
""",
    )
    env = {"PROXY_PASSWORD": PASSWORD}

    checked = CliRunner().invoke(app, ["check", "--config", str(config)], env=env)
    polled = CliRunner().invoke(app, ["poll", "--config", str(config)], env=env)

    missing = (
        "proxy: secret ${OTHER_PASSWORD} is neither a credential in $CREDENTIALS_DIRECTORY nor "
        "an environment variable"
    )
    assert checked.exit_code == 1
    assert f"{config}: feeds[2].{missing} (feed 'elsewhere')" in checked.stdout
    assert f"elsewhere: {missing}" in polled.stderr
    assert "2 feeds polled, 1 failed, 2 new entries" in polled.stderr
    assert PASSWORD not in checked.output + polled.output
    assert [r.target for r in https_server.requests] == ["/feed.xml"]
    assert wait_for(lambda: proxy.saw(f"CONNECT 127.0.0.1:{https_server.port}"))
