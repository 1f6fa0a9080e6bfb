"""Settings: a TOML file, overridden by `WATCHER_…` variables, secrets from systemd credentials.

Every section forbids unknown keys, and every problem is reported as `file: path.to.key:
problem` (research/reliability.md §6). Secrets in notifier URLs are written `${NAME}` and read
from `$CREDENTIALS_DIRECTORY/NAME` (systemd `LoadCredential=`) or the environment variable
`NAME`, so the file itself holds none.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from watcher.alerts.timing import QuietHours, RateLimit, digest_trigger
from watcher.durations import format_duration, parse_duration
from watcher.feeds.headers import FeedHeaders, feed_headers, headers_problems
from watcher.feeds.route import Route, ca_file_problem, proxy_problem
from watcher.timezones import timezone_problem

DEFAULT_CONFIG_PATH = Path("/etc/watcher/watcher.toml")
SEVERITY_NAMES = ("info", "low", "medium", "high", "critical")
_CONFIG_PATH: ContextVar[Path | None] = ContextVar("watcher_config_path", default=None)
_SECRET_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _to_timedelta(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.timedelta(seconds=value)
    return value


Duration = Annotated[dt.timedelta, BeforeValidator(_to_timedelta)]


def _longer_than_zero(value: dt.timedelta) -> dt.timedelta:
    if value <= dt.timedelta(0):
        raise ValueError("must be longer than zero")
    return value


PositiveDuration = Annotated[Duration, AfterValidator(_longer_than_zero)]


def _checked_proxy(value: str) -> str:
    problem = proxy_problem(value)
    if problem:
        raise ValueError(problem)
    return value


#: A proxy URL (its user and password may be `${NAME}` secrets), or "direct".
ProxyUrl = Annotated[str, AfterValidator(_checked_proxy)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(Section):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL; default: SQLite in $STATE_DIRECTORY or the XDG state dir",
    )

    @field_validator("url")
    @classmethod
    def _empty_is_default(cls, value: str | None) -> str | None:
        return value or None


class RulesSettings(Section):
    paths: list[Path] = [Path("rules")]


class HttpSettings(Section):
    user_agent: str = "watcher/0.1 (news-feed monitor; +https://example.invalid/watcher)"
    deadline: Duration = dt.timedelta(seconds=30)
    connect_timeout: Duration = dt.timedelta(seconds=10)
    read_timeout: Duration = dt.timedelta(seconds=20)
    max_bytes: int = Field(10_000_000, gt=0)
    max_decoded_bytes: int = Field(50_000_000, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)
    concurrency: int = Field(20, ge=1)
    per_host: int = Field(2, ge=1)
    link_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        [80, 443],
        description="ports article links from feeds (full text) may reach; a feed with "
        "allow_private = true is not held to them",
    )
    proxy: ProxyUrl | None = Field(
        None,
        description="proxy URL for every feed ('direct': none); default: HTTP(S)_PROXY, NO_PROXY",
    )
    ca_file: Path | None = Field(
        None, description="PEM certificates every feed's TLS trusts besides the default ones"
    )


class PollSettings(Section):
    interval: Duration = dt.timedelta(minutes=15)
    min_interval: Duration = dt.timedelta(minutes=1)
    max_interval: Duration = dt.timedelta(hours=24)
    tick: Duration = dt.timedelta(seconds=5)
    lease: Duration = dt.timedelta(minutes=5)
    late_after: Duration = Field(
        dt.timedelta(minutes=1),
        description="a poll that starts this long after its feed was due counts as late: the "
        "log warns that polls are falling behind, and the status line counts them",
    )
    drain: PositiveDuration = Field(
        dt.timedelta(seconds=20),
        description="on SIGTERM, how long polls and sends in flight may finish before they "
        "are cancelled; keep it below the unit's TimeoutStopSec",
    )
    first_poll_alerts: int = Field(
        0, ge=0, description="alert on the newest N entries of a feed seen for the first time"
    )
    retention: Duration = dt.timedelta(days=30)
    parser_workers: int = Field(2, ge=1)
    parser_memory_mb: int = Field(512, ge=64)
    broken_after_errors: int = Field(5, ge=1)
    silence_factor: float = Field(
        2.0,
        ge=0,
        description="a feed has gone silent when no new entry came for this many times the "
        "longest gap between the arrivals of the entries it remembers (0: only feeds with "
        "their own silent_after are checked)",
    )
    silence_check: PositiveDuration = Field(
        dt.timedelta(minutes=10), description="how often the daemon looks for silent feeds"
    )
    pause_limit: Duration = Field(
        dt.timedelta(hours=24),
        description="a feed whose server has asked for nothing but pauses (429 or 503 with "
        "Retry-After) this long since its last success counts each further one as an error",
    )

    @model_validator(mode="after")
    def _ordered(self) -> PollSettings:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not exceed max_interval")
        return self


class FeedSettings(Section):
    name: str = Field(min_length=1)
    url: str
    interval: Duration | None = None
    section: str = ""
    source: str = ""
    language: str | None = None
    timezone: str | None = Field(
        None,
        description="the IANA time zone of dates this feed writes without one "
        "(e.g. 'America/Sao_Paulo'); UTC when unset",
    )
    full_text: bool = False
    allow_private: bool = Field(
        False, description="let full-text fetches reach private or loopback addresses"
    )
    entry_key: Literal["auto", "guid", "link", "title"] = "auto"
    enabled: bool = True
    silent_after: PositiveDuration | None = Field(
        None,
        description="how long this feed may go without a new entry before the ops notifier "
        "hears it has gone silent (default: learned from its own rhythm)",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="request headers of this feed (a User-Agent, a cookie…); ${NAME} for secrets",
    )
    proxy: ProxyUrl | None = Field(
        None, description="this feed's proxy URL ('direct': none), instead of http.proxy"
    )
    ca_file: Path | None = Field(
        None, description="PEM certificates this feed's TLS trusts besides the default ones"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"expected an http:// or https:// URL, not {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and (problem := timezone_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, value: dict[str, str]) -> dict[str, str]:
        problems = headers_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value


def _without_key(key: str, parse: Callable[..., object], *args: str) -> None:
    """Run a schedule parser; its error, which names the setting, without the name (the
    problem's place names it)."""
    try:
        parse(*args)
    except ValueError as error:
        raise ValueError(str(error).removeprefix(f"{key}: ")) from None


class NotifierSettings(Section):
    urls: list[str] = Field(default_factory=list, description="apprise URLs; ${NAME} for secrets")
    console: bool = Field(False, description="print alerts to standard output")
    # Before `digest`, which is read in it.
    timezone: str = "UTC"
    digest: str | None = Field(
        None, description="'hourly', 'daily 08:00', or a five-field cron expression"
    )
    quiet_hours: str | None = Field(None, description="'22:00-07:00': alerts are held, not lost")
    rate_limit: str | None = Field(
        None,
        description="'20/h': a burst beyond it goes out as one message; none left: it waits",
    )
    format: Literal["auto", "markdown", "html", "text"] = "auto"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if problem := timezone_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("digest")
    @classmethod
    def _readable_digest(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Without a valid timezone there is nothing to read it in; that problem is told.
        if value is not None and "timezone" in info.data:
            _without_key("digest", digest_trigger, value, info.data["timezone"])
        return value

    @field_validator("quiet_hours", "rate_limit")
    @classmethod
    def _readable_window(cls, value: str | None, info: ValidationInfo) -> str | None:
        parse = QuietHours.parse if info.field_name == "quiet_hours" else RateLimit.parse
        if value is not None:
            _without_key(str(info.field_name), parse, value)
        return value

    @model_validator(mode="after")
    def _has_target(self) -> NotifierSettings:
        if not self.urls and not self.console:
            raise ValueError("a notifier needs 'urls' or 'console = true'")
        return self


class RoutesSettings(Section):
    info: list[str] = []
    low: list[str] = []
    medium: list[str] = []
    high: list[str] = []
    critical: list[str] = []


class AlertSettings(Section):
    max_attempts: int = Field(8, ge=1)
    retry_base: Duration = dt.timedelta(seconds=30)
    tick: Duration = dt.timedelta(seconds=2)
    lease: PositiveDuration = Field(
        dt.timedelta(minutes=2),
        description="how long a node holds an alert it is sending; longer than a send can "
        "take (apprise gives each service 60 s), or a second node may send it again",
    )
    ops_notifier: str | None = Field(
        None,
        description="hears about broken, recovered, gone, moved and silent feeds, and a store "
        "that stays unavailable",
    )
    store_outage_after: PositiveDuration = Field(
        dt.timedelta(minutes=1),
        description="how long the store must be unavailable before the ops notifier hears of it",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WATCHER_", env_nested_delimiter="__", extra="forbid"
    )

    store: StoreSettings = StoreSettings()
    rules: RulesSettings = RulesSettings()
    http: HttpSettings = HttpSettings()
    poll: PollSettings = PollSettings()
    alerts: AlertSettings = AlertSettings()
    feeds: list[FeedSettings] = []
    notifiers: dict[str, NotifierSettings] = {"console": NotifierSettings(console=True)}
    routes: RoutesSettings = RoutesSettings(
        low=["console"], medium=["console"], high=["console"], critical=["console"]
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _CONFIG_PATH.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @model_validator(mode="after")
    def _references(self) -> Settings:
        # The console notifier is built in, so routes may always name it.
        self.notifiers.setdefault("console", NotifierSettings(console=True))
        names = [feed.name for feed in self.feeds]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"feed names must be unique: {', '.join(duplicates)}")
        for severity in SEVERITY_NAMES:
            for name in getattr(self.routes, severity):
                if name not in self.notifiers:
                    raise ValueError(f"routes.{severity} names unknown notifier '{name}'")
        ops = self.alerts.ops_notifier
        if ops is not None and ops not in self.notifiers:
            raise ValueError(f"alerts.ops_notifier names unknown notifier '{ops}'")
        for number, feed in enumerate(self.feeds, start=1):
            interval = feed.interval or self.poll.interval
            if feed.silent_after is not None and feed.silent_after < 2 * interval:
                # New entries are only seen at polls: a shorter limit cries wolf between two.
                raise ValueError(
                    f"feeds[{number}].silent_after ({format_duration(feed.silent_after)}) must "
                    f"be at least two of its poll intervals ({format_duration(interval)} each)"
                )
        return self


class ConfigError(Exception):
    """Every problem of a config file, one `file: path.to.key: problem` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def config_path(given: Path | None) -> Path | None:
    """--config, else $WATCHER_CONFIG, else /etc/watcher/watcher.toml when it exists."""
    if given is not None:
        return given
    env = os.environ.get("WATCHER_CONFIG")
    if env:
        return Path(env)
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


def load_settings(path: Path | None) -> Settings:
    """Settings from a TOML file (None: embedded defaults) plus environment overrides."""
    label = str(path) if path is not None else "defaults"
    if path is not None:
        if path.is_dir():
            raise ConfigError([f"{path}: is a directory, expected a TOML config file"])
        if not path.is_file():
            raise ConfigError([f"{path}: config file not found"])
        try:
            with path.open("rb") as handle:
                tomllib.load(handle)
        except UnicodeDecodeError as error:
            raise ConfigError(
                [
                    f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
                    f"{error.start}); TOML files are UTF-8"
                ]
            ) from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError([f"{path}: TOML syntax error: {error}"]) from None
        except OSError as error:
            raise ConfigError([f"{path}: cannot read: {error.strerror}"]) from None
    token = _CONFIG_PATH.set(path)
    try:
        settings = Settings()
    except ValidationError as error:
        raise ConfigError([_describe(label, e) for e in error.errors()]) from None
    finally:
        _CONFIG_PATH.reset(token)
    if path is not None:
        settings.rules.paths = [
            p if p.is_absolute() else path.parent / p for p in settings.rules.paths
        ]
    _check_ca_files(settings, label, path.parent if path is not None else None)
    return settings


def _check_ca_files(settings: Settings, label: str, base: Path | None) -> None:
    """Resolve relative CA file paths against the config file's directory and check that
    each holds certificates, so a wrong path shows at start-up, not at the first poll."""
    owners: list[tuple[str, HttpSettings | FeedSettings]] = [("http", settings.http)]
    owners += [(f"feeds[{n}]", feed) for n, feed in enumerate(settings.feeds, start=1)]
    problems = []
    for where, owner in owners:
        if owner.ca_file is None:
            continue
        if base is not None and not owner.ca_file.is_absolute():
            owner.ca_file = base / owner.ca_file
        problem = ca_file_problem(owner.ca_file)
        if problem:
            problems.append(f"{label}: {where}.ca_file: {owner.ca_file}: {problem}")
    if problems:
        raise ConfigError(problems)


def _describe(label: str, error: Any) -> str:
    parts: list[str] = []
    for item in error["loc"]:
        if isinstance(item, int):
            parts[-1 if parts else 0 :] = [f"{parts[-1] if parts else ''}[{item + 1}]"]
        else:
            parts.append(str(item))
    where = ".".join(parts) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    value = error.get("input")
    secret = any(word in where for word in ("urls", "password", "token", "headers", "proxy"))
    hide = secret or isinstance(value, dict | list) or error["type"] == "missing"
    show = "" if hide or repr(value) in message else f" (got {value!r})"
    return f"{label}: {where}: {message}{show}"


def resolve_secrets(url: str) -> str:
    """Replace `${NAME}` with the systemd credential or environment variable NAME."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if directory:
            candidate = Path(directory) / name
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8").rstrip("\n")
        if name in os.environ:
            return os.environ[name]
        raise KeyError(name)

    try:
        return _SECRET_REFERENCE.sub(lookup, url)
    except KeyError as missing:
        raise ConfigError(
            [
                f"secret ${{{missing.args[0]}}} is neither a credential in $CREDENTIALS_DIRECTORY "
                "nor an environment variable"
            ]
        ) from None


def request_headers(feed_url: str, headers: Mapping[str, str]) -> FeedHeaders | None:
    """A feed's request headers with their `${NAME}` secrets read now; ConfigError says what
    is wrong (a secret that cannot be read, a value no request may carry), never a value."""
    try:
        return feed_headers(feed_url, headers, resolve_secrets)
    except ValueError as error:
        raise ConfigError([str(error)]) from None


def feed_route(http: HttpSettings, proxy: str | None, ca_file: Path | None) -> Route:
    """How a feed's requests go: through its own `proxy`, else `http.proxy`, else the
    environment's, its `${NAME}` secrets read now (ConfigError names one that cannot be read);
    trusting the certificates of `http.ca_file` and its own `ca_file` besides the defaults."""
    proxy = proxy if proxy is not None else http.proxy
    return Route(
        proxy=resolve_secrets(proxy) if proxy is not None else None,
        ca_files=tuple(str(p) for p in (http.ca_file, ca_file) if p is not None),
    )
