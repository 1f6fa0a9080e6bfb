"""Settings: TOML + environment + credentials, and errors as `file: path.to.key: problem`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.support.tls import PrivateCA
from watcher.config import ConfigError, config_path, feed_route, load_settings, resolve_secrets
from watcher.feeds.route import DIRECT, Route

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watcher.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    return error.value.problems


def test_example_config_loads_as_it_is() -> None:
    settings = load_settings(ROOT / "config.example.toml")
    assert settings.store.url is None
    assert [f.name for f in settings.feeds] == ["bbc-world", "aljazeera"]
    assert settings.feeds[0].interval == dt.timedelta(minutes=10)
    assert settings.notifiers["console"].console
    assert settings.routes.high == ["console"]
    assert settings.rules.paths == [ROOT / "rules"]


def test_embedded_defaults_need_no_file() -> None:
    settings = load_settings(None)
    assert settings.feeds == [] and settings.http.max_bytes == 10_000_000
    assert settings.routes.medium == ["console"]


def test_rule_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[rules]\npaths = ["my-rules", "/abs/rules"]\n')
    assert load_settings(path).rules.paths == [tmp_path / "my-rules", Path("/abs/rules")]


def test_missing_file_and_syntax_errors_name_the_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}: config file not found"]
    [problem] = problems(write(tmp_path, "[http\nconcurrency = 3\n"))
    assert problem.startswith(f"{tmp_path / 'watcher.toml'}: TOML syntax error:")
    assert "line 1" in problem


def test_a_config_that_is_not_utf8_or_not_a_file_is_named_as_such(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[feeds]\nname = "café"\n'.encode("latin-1"))
    assert problems(latin1) == [
        f"{latin1}: not UTF-8 text (byte 0xe9 at offset 19); TOML files are UTF-8"
    ]
    assert problems(tmp_path) == [f"{tmp_path}: is a directory, expected a TOML config file"]


def test_every_problem_is_reported_with_its_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[http]
timeot = 3
[poll]
interval = "soon"
[[feeds]]
name = "ok"
url = "https://example.org/feed"
[[feeds]]
name = "bad"
url = "ftp://example.org/feed"
""",
    )
    found = problems(path)
    assert f"{path}: http.timeot: unknown key (got 3)" in found
    assert any(p.startswith(f"{path}: poll.interval: expected a duration") for p in found)
    assert any(p.startswith(f"{path}: feeds[2].url: expected an http://") for p in found)


def test_silence_checks_need_durations_longer_than_zero(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[poll]\nsilence_check = "0s"\nsilence_factor = -1\n'
        '[[feeds]]\nname = "desk"\nurl = "https://example.org/feed"\nsilent_after = "0s"\n',
    )
    found = problems(path)
    assert any(p.startswith(f"{path}: poll.silence_check: must be longer than zero") for p in found)
    assert any(p.startswith(f"{path}: poll.silence_factor: ") for p in found)
    assert any(p.startswith(f"{path}: feeds[1].silent_after: must be longer") for p in found)


def test_a_feeds_time_zone_must_be_a_known_iana_name(tmp_path: Path) -> None:
    feed = '[[feeds]]\nname = "desk"\nurl = "https://example.org/feed"\n'
    path = write(tmp_path, f'{feed}timezone = "China Standard Time"\n')
    assert problems(path) == [
        f"{path}: feeds[1].timezone: expected an IANA time zone such as 'Asia/Shanghai', "
        "got 'China Standard Time'"
    ]
    write(tmp_path, f'{feed}timezone = "Asia/Shanghai"\n')
    assert load_settings(path).feeds[0].timezone == "Asia/Shanghai"


def test_a_silence_limit_shorter_than_two_polls_is_refused(tmp_path: Path) -> None:
    feed = '[[feeds]]\nname = "desk"\nurl = "https://example.org/feed"\ninterval = "15m"\n'
    path = write(tmp_path, f'{feed}silent_after = "20m"\n')
    assert problems(path) == [
        f"{path}: (top level): feeds[1].silent_after (20m) must be at least two of its poll "
        "intervals (15m each)"
    ]
    write(tmp_path, f'{feed}silent_after = "30m"\n')
    assert load_settings(path).feeds[0].silent_after == dt.timedelta(minutes=30)


def test_cross_references_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, '[routes]\nhigh = ["pager"]\n')
    assert problems(path) == [f"{path}: (top level): routes.high names unknown notifier 'pager'"]
    feed = '[[feeds]]\nname = "a"\nurl = "https://x.org/{}"\n'
    path = write(tmp_path, feed.format(1) + feed.format(2))
    assert "feed names must be unique: a" in problems(path)[0]


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[http]\nconcurrency = 3\n")
    monkeypatch.setenv("WATCHER_HTTP__CONCURRENCY", "9")
    monkeypatch.setenv("WATCHER_STORE__URL", "sqlite:///tmp/x.db")
    settings = load_settings(path)
    assert settings.http.concurrency == 9
    assert settings.store.url == "sqlite:///tmp/x.db"


def test_config_path_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WATCHER_CONFIG", str(tmp_path / "env.toml"))
    assert config_path(Path("given.toml")) == Path("given.toml")
    assert config_path(None) == tmp_path / "env.toml"


def test_secrets_come_from_credentials_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "SMTP_PASSWORD").write_text("s3cret\n", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("BOT_TOKEN", "tok")
    url = "mailtos://a:${SMTP_PASSWORD}@h?to=x&token=${BOT_TOKEN}"
    assert resolve_secrets(url) == "mailtos://a:s3cret@h?to=x&token=tok"
    with pytest.raises(ConfigError, match=r"secret \$\{MISSING\}"):
        resolve_secrets("json://h/${MISSING}")


def test_secret_values_are_never_echoed_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path, '[notifiers.mail]\nurls = "mailtos://a:hunter2@h"\n')
    found = problems(path)
    assert found and not any("hunter2" in p for p in found)


def test_feed_headers_are_read_and_checked_without_echoing_values(tmp_path: Path) -> None:
    feed = '[[feeds]]\nname = "members"\nurl = "https://example.org/feed"\nheaders = {}\n'
    good = write(
        tmp_path, feed.format('{ "User-Agent" = "Mozilla/5.0", Authorization = "Bearer ${T}" }')
    )
    assert load_settings(good).feeds[0].headers == {
        "User-Agent": "Mozilla/5.0",
        "Authorization": "Bearer ${T}",
    }
    bad = write(tmp_path, feed.format('{ "Accept-Encoding" = "br", Cookie = "id=hunter2\\n" }'))
    [problem] = problems(bad)
    assert problem == (
        f"{bad}: feeds[1].headers: 'Accept-Encoding' cannot be set: watcher sends it and caps "
        "what each coding decodes to; the value of 'Cookie' holds a line break, a control "
        "character or a character outside ASCII"
    )


def test_a_header_value_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[feeds]]\nname = "a"\nurl = "https://example.org/feed"\nheaders = { X-Key = 20260417 }\n',
    )
    [problem] = problems(path)
    assert problem.startswith(f"{path}: feeds[1].headers.X-Key: ") and "20260417" not in problem


def test_feed_routes_take_the_feeds_proxy_over_the_global_one_with_secrets_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared_ca, feed_ca = PrivateCA(tmp_path, "shared-ca").pem, PrivateCA(tmp_path, "feed-ca").pem
    path = write(
        tmp_path,
        '[http]\nproxy = "http://egress:${PROXY_PASSWORD}@proxy.corp:3128"\n'
        'ca_file = "shared-ca.pem"\n'
        '[[feeds]]\nname = "wire"\nurl = "https://example.org/feed"\n'
        '[[feeds]]\nname = "intranet"\nurl = "https://news.corp/feed"\nproxy = "direct"\n'
        f'ca_file = "{feed_ca}"\n',
    )
    monkeypatch.setenv("PROXY_PASSWORD", "hunter2")
    settings = load_settings(path)
    wire, intranet = (feed_route(settings.http, f.proxy, f.ca_file) for f in settings.feeds)

    # A relative CA file is read from the config file's directory.
    assert wire == Route("http://egress:hunter2@proxy.corp:3128", (str(shared_ca),))
    assert intranet == Route(DIRECT, (str(shared_ca), str(feed_ca)))
    monkeypatch.delenv("PROXY_PASSWORD")
    with pytest.raises(ConfigError, match=r"secret \$\{PROXY_PASSWORD\}"):
        feed_route(settings.http, None, None)


def test_bad_proxies_and_ca_files_are_named_without_echoing_a_proxy_password(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes.pem").write_text("not a certificate\n", encoding="utf-8")
    feed = '[[feeds]]\nname = "{}"\nurl = "https://example.org/{}"\n{}\n'
    bad_proxy = write(tmp_path, feed.format("a", "a", 'proxy = "ftp://u:hunter2@p:21"'))
    assert problems(bad_proxy) == [
        f"{bad_proxy}: feeds[1].proxy: expected an http://, https:// or socks5:// proxy URL, or "
        "'direct'"
    ]
    bad_files = write(
        tmp_path,
        '[http]\nca_file = "missing.pem"\n'
        + feed.format("a", "a", 'ca_file = "notes.pem"')
        + feed.format("b", "b", ""),
    )
    assert problems(bad_files) == [
        f"{bad_files}: http.ca_file: {tmp_path / 'missing.pem'}: no such file",
        f"{bad_files}: feeds[1].ca_file: {tmp_path / 'notes.pem'}: holds no certificate in PEM "
        "form (expected -----BEGIN CERTIFICATE-----)",
    ]
