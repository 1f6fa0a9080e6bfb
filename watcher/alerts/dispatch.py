"""Delivering messages through apprise, one destination at a time, with a result per service.

Each apprise URL of a notifier becomes its own destination with its own `apprise.Apprise`
object (research/reliability.md §4.2): destinations run concurrently, a retry can resend to
the failed ones only, and each plugin keeps its own throttle between sends because the
objects are cached. The wording is chosen per destination from what its apprise plugin
declares (formats, size budget, whether it has a title field).

Secrets never leave this module: destinations are named `notifier#N` plus apprise's service
name, URLs only appear in apprise's privacy form with every secret fragment masked again, and
apprise's own logger is kept at WARNING (its DEBUG output prints tokens).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Literal, TextIO
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import apprise
from apprise import AppriseResultStatus, NotifyFormat
from pydantic import BaseModel

from watcher.alerts.compose import CONSOLE_STYLE, Message, Style
from watcher.config import ConfigError, NotifierSettings, resolve_secrets

DEFAULT_TIMEOUT = 60.0
IRC_MAX_LINES = 5
MASK = "****"
_SECRET_KEY = re.compile(r"token|key|secret|pass|auth|sig|session|cred", re.I)
_URL_PIECES = re.compile(r"[/:@?&=+#,;\s]+")
_MIN_GUESSED_SECRET = 4

log = logging.getLogger(__name__)

Composer = Callable[[Style], Message]


class ServiceResult(BaseModel):
    service: str
    kind: str
    url: str | None
    ok: bool
    status: Literal["sent", "failed", "timeout"]
    error: str | None = None


class Delivery(BaseModel):
    ok: bool
    results: list[ServiceResult]
    error: str | None = None

    @property
    def failed_services(self) -> list[str]:
        return [r.service for r in self.results if not r.ok]


@dataclass(frozen=True)
class Destination:
    """One place a notifier sends to; `problem` is set when it cannot be used as configured."""

    service: str
    kind: str
    url: str | None
    style: Style
    secrets: tuple[str, ...] = ()
    apprise: apprise.Apprise | None = None
    problem: str | None = None


_destinations: dict[str, tuple[str, list[Destination]]] = {}


def quiet_apprise_logger() -> None:
    """apprise logs tokens at DEBUG and INFO; never let those levels through."""
    logger = logging.getLogger("apprise")
    if logger.level < logging.WARNING:
        logger.setLevel(logging.WARNING)


def secret_fragments(raw_url: str, privacy_url: str, known: Iterable[str] = ()) -> tuple[str, ...]:
    """Every piece of `raw_url` that could be a secret, longest first.

    That is: the `${NAME}` values it was built from, its password, the values of custom
    headers (`+Name=`), payload fields (`:name=`, `-name=`) and secret-sounding parameters,
    and every piece apprise itself masks in the privacy URL (tokens in paths, for instance).
    """
    found = {value for value in known if value}
    parts = urlsplit(raw_url)
    if parts.password:
        found.add(unquote(parts.password))
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key[:1] in "+-:" or _SECRET_KEY.search(key):
            found.add(value)
    visible = unquote(privacy_url)
    for piece in _URL_PIECES.split(unquote(raw_url)):
        if len(piece) >= _MIN_GUESSED_SECRET and piece not in visible:
            found.add(piece)
    return tuple(sorted(found, key=len, reverse=True))


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, MASK)
    return text


def _formats(plugin: apprise.NotifyBase) -> tuple[str, ...]:
    declared = plugin.notify_format
    items = declared if isinstance(declared, tuple | list) else (declared,)
    return tuple(NotifyFormat(item).value for item in items)


def style_for(plugin: apprise.NotifyBase, format_setting: str) -> Style:
    """The wording a service gets: from its plugin's declared formats and size budget.

    E-mail-like services (HTML first, no markdown) get HTML and no length limit; chat
    services that accept markdown get markdown; the rest plain text. The notifier's
    `format` setting overrides the format but not the size budget.
    """
    formats = _formats(plugin)
    email_like = formats[0] == "html" and "markdown" not in formats
    if format_setting != "auto":
        body_format = format_setting
    elif email_like:
        body_format = "html"
    elif "markdown" in formats:
        body_format = "markdown"
    else:
        body_format = "text"
    irc = bool({plugin.protocol, plugin.secure_protocol} & {"irc", "ircs"})
    line_limit = int(plugin.body_max_line_count)
    return Style(
        kind=str(plugin.service_name),
        body_format=body_format,
        max_length=None if email_like else int(plugin.body_maxlen),
        # Every IRC line is a separate PRIVMSG: a few lines, counted in bytes (RFC 2812).
        max_lines=IRC_MAX_LINES if irc else line_limit if line_limit > 0 else None,
        count_bytes=irc,
        title_in_body=int(plugin.title_maxlen) <= 0,
    )


def _asset() -> apprise.AppriseAsset:
    return apprise.AppriseAsset(
        app_id="watcher",
        app_desc="watcher news alerts",
        storage_mode="memory",
        allow_templates=False,
    )


def _secret_values(url: str) -> list[str]:
    """The values of the `${NAME}` references in `url`, as resolve_secrets reads them."""
    return [resolve_secrets(ref) for ref in re.findall(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", url)]


def _destination(name: str, number: int, template: str, format_setting: str) -> Destination:
    service = f"{name}#{number}"
    try:
        url = resolve_secrets(template)
        known = _secret_values(template)
    except ConfigError as error:
        return Destination(service, "unknown", None, CONSOLE_STYLE, problem=f"{service}: {error}")
    asset = _asset()
    plugin = apprise.Apprise.instantiate(url, asset=asset)
    if plugin is None:
        problem = (
            f"{service}: not a valid apprise URL (unknown scheme or missing parts; "
            "see https://appriseit.com/services/)"
        )
        return Destination(service, "unknown", None, CONSOLE_STYLE, problem=problem)
    secrets = secret_fragments(url, plugin.url(privacy=True), known)
    sender = apprise.Apprise(asset=asset)
    sender.add(plugin)
    return Destination(
        service=service,
        kind=str(plugin.service_name),
        url=scrub(plugin.url(privacy=True), secrets),
        style=style_for(plugin, format_setting),
        secrets=secrets,
        apprise=sender,
    )


def _fingerprint(settings: NotifierSettings) -> str:
    """Changes whenever the notifier's URLs or the secrets they name change."""
    pieces = [settings.format, str(settings.console)]
    for url in settings.urls:
        try:
            pieces.append(resolve_secrets(url))
        except ConfigError as error:
            pieces.append(str(error))
    return hashlib.sha256("\n".join(pieces).encode()).hexdigest()


def destinations(name: str, settings: NotifierSettings) -> list[Destination]:
    """The notifier's destinations, built once and rebuilt when its resolved URLs change."""
    fingerprint = _fingerprint(settings)
    cached = _destinations.get(name)
    if cached and cached[0] == fingerprint:
        return cached[1]
    built = [
        _destination(name, number, url, settings.format)
        for number, url in enumerate(settings.urls, 1)
    ]
    if settings.console:
        built.append(Destination(f"{name}#console", "console", None, CONSOLE_STYLE))
    _destinations[name] = (fingerprint, built)
    return built


def check_notifier(name: str, settings: NotifierSettings) -> list[str]:
    """Problems that would stop the notifier from sending, found without sending anything,
    each as `notifiers.NAME.urls[N]: problem` (N counts from 1, as the service `NAME#N`)."""
    return [
        f"notifiers.{name}.urls[{number}]: {d.problem.removeprefix(f'{d.service}: ')}"
        for number, d in enumerate(destinations(name, settings), 1)
        if d.problem
    ]


def _error_text(result: apprise.AppriseResult, destination: Destination, fallback: str) -> str:
    lines = dict.fromkeys(entry.message.strip() for entry in result.logs() if entry.message)
    return scrub("; ".join(line for line in lines if line) or fallback, destination.secrets)


async def _send(
    destination: Destination, message: Message, timeout: float, stream: TextIO
) -> ServiceResult:
    def outcome(status: Literal["sent", "failed", "timeout"], error: str | None = None):
        return ServiceResult(
            service=destination.service,
            kind=destination.kind,
            url=destination.url,
            ok=status == "sent",
            status=status,
            error=error,
        )

    silent = f"no answer within {timeout:g} s"
    if destination.problem is not None:
        return outcome("failed", destination.problem)
    if destination.apprise is None:
        try:
            stream.write(f"{message.title}\n{message.body}\n\n")
            stream.flush()
        except (OSError, ValueError) as error:
            return outcome("failed", f"cannot write to standard output: {error}")
        return outcome("sent")
    try:
        # apprise enforces the timeout per service; the outer guard covers apprise itself.
        async with asyncio.timeout(timeout + 5):
            result = await destination.apprise.async_notify(
                body=message.body,
                title=message.title,
                body_format=NotifyFormat(message.body_format),
                timeout=timeout,
            )
    except TimeoutError:
        return outcome("timeout", silent)
    with result:
        if result.status == AppriseResultStatus.SUCCESS:
            return outcome("sent")
        if result.status == AppriseResultStatus.TIMEOUT:
            return outcome("timeout", _error_text(result, destination, silent))
        return outcome("failed", _error_text(result, destination, result.status.name.lower()))


def _summary(name: str, results: list[ServiceResult]) -> str | None:
    failed = [r for r in results if not r.ok]
    if not failed:
        return None
    details = "; ".join(f"{r.service} ({r.kind}): {r.error}" for r in failed)
    return f"notifier '{name}': {len(failed)} of {len(results)} services failed: {details}"


async def deliver(
    notifier_name: str,
    settings: NotifierSettings,
    message: Message | Composer,
    *,
    only: Collection[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    stream: TextIO | None = None,
) -> Delivery:
    """Send to every destination of the notifier (or the services named in `only`).

    `message` is either one Message for all destinations, or a function Style → Message
    (e.g. `functools.partial(compose_alert, payload)`) so each channel gets its own wording
    and length. Never raises for delivery problems: they are in the returned Delivery.
    """
    quiet_apprise_logger()
    targets = destinations(notifier_name, settings)
    if only is not None:
        targets = [d for d in targets if d.service in only]
    if not targets:
        return Delivery(
            ok=False, results=[], error=f"notifier '{notifier_name}': no destination to send to"
        )
    out = stream if stream is not None else sys.stdout
    sends = []
    for destination in targets:
        wording = message if isinstance(message, Message) else message(destination.style)
        sends.append(_send(destination, wording, timeout, out))
    results = list(await asyncio.gather(*sends))
    error = _summary(notifier_name, results)
    if error:
        log.warning("%s", error)
    return Delivery(ok=error is None, results=results, error=error)


def probe_message(notifier_name: str, style: Style) -> Message:
    text = (
        f"This is a test message from watcher for the notifier '{notifier_name}'. "
        "If you can read it, alerts will reach you here."
    )
    body = f"<p>{text}</p>" if style.body_format == "html" else text
    return Message(
        title=f"[TEST] watcher notifier '{notifier_name}'",
        body=body,
        body_format=style.body_format,
        text_body=text,
    )


async def test_notifier(
    name: str,
    settings: NotifierSettings,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    stream: TextIO | None = None,
) -> Delivery:
    """Send a test message and report what each service really answered."""
    return await deliver(
        name,
        settings,
        lambda style: probe_message(name, style),
        timeout=timeout,
        stream=stream,
    )


# The name mirrors `watcher notify-test`; this keeps pytest from collecting it as a test.
test_notifier.__test__ = False  # type: ignore[attr-defined]
