"""Rule files (YAML) → Rules and TermLists, every problem as `file:line:col: message`.

YAML is composed, not loaded: nodes keep their marks, duplicate keys are caught, and scalars are
read as the strings the author wrote (no `no` → False surprises) unless a key wants a number
or a boolean. One bad rule never stops the others (research/rules.md §2.2).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from watcher.article import QUERY_FIELDS
from watcher.durations import parse_duration
from watcher.matching.rule import (
    DEFAULT_FIELDS,
    SEVERITIES,
    Example,
    Examples,
    Location,
    Problem,
    QuerySource,
    Rule,
    RuleError,
    TermList,
)
from watcher.text import UnknownLanguageError, stemmer_name

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # libyaml missing: slower, same results
    _Loader = yaml.SafeLoader

RULE_KEYS = (
    "id",
    "title",
    "description",
    "severity",
    "tags",
    "enabled",
    "fields",
    "language",
    "match",
    "min_score",
    "notify",
    "throttle",
    "examples",
    "status",
    "author",
    "references",
    "falsepositives",
    "version",
    "created",
    "modified",
)
MATCH_KEYS = ("any", "all", "none")
EXAMPLE_KEYS = ("match", "no_match", "todo_match", "todo_no_match")
EXAMPLE_FIELDS = (*QUERY_FIELDS, "file")
STATUSES = ("experimental", "test", "stable", "deprecated")
RULE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
LIST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
RULE_FILE_SUFFIXES = (".yaml", ".yml")


@dataclass(slots=True)
class LoadedRules:
    rules: list[Rule] = field(default_factory=list)
    lists: dict[str, TermList] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def rule_files(paths: Iterable[Path], problems: list[Problem]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*")) if p.suffix in RULE_FILE_SUFFIXES and p.is_file()
            )
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), 0, 0, "no such rule file or directory"))
    return files


def load_rules(paths: Iterable[Path]) -> LoadedRules:
    """Load rule files and list files (`_*.yaml`) from files and directories."""
    loaded = LoadedRules()
    loaded.files = rule_files(paths, loaded.problems)
    first_seen: dict[str, Location] = {}
    for path in loaded.files:
        try:
            documents = _compose(path)
        except RuleError as error:
            loaded.problems.append(error.problem)
            continue
        reader = _Reader(str(path))
        if path.name.startswith("_"):
            for document in documents:
                _load_lists(reader, document, loaded)
            continue
        for document in documents:
            try:
                rule = reader.rule(document)
            except RuleError as error:
                loaded.problems.append(error.problem)
                continue
            if rule.id in first_seen:
                loaded.problems.append(
                    Problem(
                        rule.location.path,
                        rule.location.line,
                        rule.location.column,
                        f"duplicate rule id '{rule.id}' (first defined at {first_seen[rule.id]})",
                    )
                )
                continue
            first_seen[rule.id] = rule.location
            loaded.rules.append(rule)
    return loaded


def _compose(path: Path) -> list[yaml.Node]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RuleError(
            Problem(str(path), 1, 1, f"not UTF-8 text: {error.reason} at byte {error.start}")
        ) from None
    except OSError as error:
        raise RuleError(Problem(str(path), 0, 0, f"cannot read: {error.strerror}")) from None
    try:
        return [d for d in yaml.compose_all(text, Loader=_Loader) if d is not None]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {error.problem or error.context}"
        raise RuleError(
            Problem(str(path), line, column, message + _yaml_hint(text, mark))
        ) from None
    except yaml.YAMLError as error:
        raise RuleError(Problem(str(path), 1, 1, f"YAML error: {error}")) from None


def _yaml_hint(text: str, mark: yaml.Mark | None) -> str:
    if mark is None:
        return ""
    lines = text.splitlines()
    if mark.line >= len(lines):
        return ""
    line = lines[mark.line]
    rest = line[mark.column :]
    stripped = line.lstrip(" -")
    if rest.startswith(("@", "`")) or stripped.startswith(("@", "`")):
        return (
            " (a query cannot start with '@' in a plain YAML value: "
            "quote it, or write it in a '>-' block on the next line)"
        )
    if stripped[:1] in "\"'“" or "expected <block end>" in rest:
        return (
            " (a query that starts with a quoted phrase and goes on after it must be quoted whole, "
            "e.g. '\"refugee returns\" NEAR/5 camp', or written in a '>-' block)"
        )
    return ""


def _load_lists(reader: _Reader, document: yaml.Node, loaded: LoadedRules) -> None:
    try:
        pairs = reader.mapping(document, "a mapping of list names to lists of terms")
    except RuleError as error:
        loaded.problems.append(error.problem)
        return
    for key_node, value_node in pairs:
        name = key_node.value
        location = reader.location(key_node)
        try:
            if name == "version":
                continue
            if not LIST_NAME.fullmatch(name):
                raise reader.error(
                    key_node, f"list name '{name}' may hold letters, digits, '_' and '-'"
                )
            if name in loaded.lists:
                raise reader.error(
                    key_node,
                    f"duplicate list '{name}' (first defined at {loaded.lists[name].location})",
                )
            description = ""
            terms_node = value_node
            if isinstance(value_node, yaml.MappingNode):
                fields = {
                    k.value: v
                    for k, v in reader.mapping(
                        value_node, "a list", allowed=("description", "terms")
                    )
                }
                description = (
                    reader.string(fields["description"]) if "description" in fields else ""
                )
                if "terms" not in fields:
                    raise reader.error(value_node, f"list '{name}' needs 'terms'")
                terms_node = fields["terms"]
            entries = reader.queries(terms_node, f"the terms of list '{name}'", allow_single=False)
            if not entries:
                raise reader.error(value_node, f"list '{name}' is empty")
            loaded.lists[name] = TermList(name, entries, location, description)
        except RuleError as error:
            loaded.problems.append(error.problem)


class _Reader:
    """Reads composed YAML nodes of one file into values, with file positions in every error."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lines: list[str] | None = None

    def location(self, node: yaml.Node) -> Location:
        return Location(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: yaml.Node, message: str) -> RuleError:
        return RuleError(
            Problem(self.path, node.start_mark.line + 1, node.start_mark.column + 1, message)
        )

    # -- shapes ---------------------------------------------------------------------------

    def mapping(
        self, node: yaml.Node, what: str, allowed: tuple[str, ...] | None = None
    ) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"expected {what}, found {_kind(node)}")
        seen: dict[str, yaml.Node] = {}
        pairs = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, f"expected a plain key in {what}")
            key = key_node.value
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise self.error(
                    key_node,
                    f"duplicate key '{key}' (first at line {first}); YAML would keep only the last",
                )
            if allowed is not None and key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f" (did you mean '{close[0]}'?)"
                    if close
                    else f"; expected one of: {', '.join(allowed)}"
                )
                raise self.error(key_node, f"unknown key '{key}'{hint}")
            seen[key] = key_node
            pairs.append((key_node, value_node))
        return pairs

    def string(self, node: yaml.Node, what: str = "a string") -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"expected {what}, found {_kind(node)}")
        return node.value

    def strings(self, node: yaml.Node, what: str) -> list[str]:
        if isinstance(node, yaml.ScalarNode):
            return [node.value] if node.value else []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"expected {what} (a list of strings), found {_kind(node)}")
        return [self.string(item, f"a string in {what}") for item in node.value]

    def boolean(self, node: yaml.Node, key: str) -> bool:
        value = self.string(node, "true or false").lower()
        if value in ("true", "false"):
            return value == "true"
        raise self.error(node, f"'{key}' must be true or false, not '{node.value}'")

    def number(self, node: yaml.Node, key: str) -> float:
        try:
            return float(self.string(node, "a number"))
        except ValueError:
            raise self.error(node, f"'{key}' must be a number, not '{node.value}'") from None

    def queries(self, node: yaml.Node, what: str, allow_single: bool = True) -> list[QuerySource]:
        items = [node] if isinstance(node, yaml.ScalarNode) and allow_single else None
        if items is None:
            if not isinstance(node, yaml.SequenceNode):
                raise self.error(node, f"expected {what} as a list of queries, found {_kind(node)}")
            items = node.value
        return [self.query(item, what) for item in items]

    def query(self, node: yaml.Node, what: str) -> QuerySource:
        if isinstance(node, yaml.MappingNode):
            hint = ""
            if len(node.value) == 1 and isinstance(node.value[0][0], yaml.ScalarNode):
                key_node, value_node = node.value[0]
                if value_node.value is None or value_node.value == "":
                    bare = f"{{{key_node.value}}}"
                    hint = f"; a bare {bare} is YAML flow syntax: quote it as '{bare}'"
                elif isinstance(value_node, yaml.ScalarNode):
                    hint = (
                        f" (did you mean the query '{key_node.value}:{value_node.value}'? "
                        "quote it: YAML read 'key: value' as a mapping)"
                    )
            raise self.error(node, f"a mapping where a query was expected in {what}{hint}")
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"expected a query string in {what}, found {_kind(node)}")
        if not node.value.strip():
            raise self.error(node, f"empty query in {what}")
        return QuerySource(node.value, self._query_location(node), plain=not node.style)

    def _query_location(self, node: yaml.ScalarNode) -> Location:
        start = node.start_mark
        if node.style in ("|", ">"):
            return self._block_location(node)
        column = start.column + (1 if node.style in ("'", '"') else 0)
        return Location(self.path, start.line + 1, column + 1)

    def _block_location(self, node: yaml.ScalarNode) -> Location:
        # A block scalar's text starts on the next line; folded lines join with one character.
        lines = self._source_lines()
        anchors = []
        offset = 0
        for number in range(node.start_mark.line + 1, min(node.end_mark.line + 1, len(lines))):
            line = lines[number]
            content = line.strip()
            if not content:
                continue
            indent = len(line) - len(line.lstrip())
            anchors.append((offset, number + 1, indent + 1))
            offset += len(content) + 1
        if not anchors:
            return self.location(node)
        _, line, column = anchors[0]
        return Location(self.path, line, column, tuple(anchors))

    def _source_lines(self) -> list[str]:
        if self._lines is None:
            self._lines = Path(self.path).read_text(encoding="utf-8-sig").splitlines()
        return self._lines

    # -- the rule -------------------------------------------------------------------------

    def rule(self, document: yaml.Node) -> Rule:
        pairs = dict(
            (k.value, (k, v))
            for k, v in self.mapping(document, "a rule (a mapping)", allowed=RULE_KEYS)
        )
        for required in ("id", "title", "match"):
            if required not in pairs:
                raise self.error(document, f"a rule needs '{required}'")
        id_node = pairs["id"][1]
        rule_id = self.string(id_node, "a rule id")
        if not RULE_ID.fullmatch(rule_id):
            raise self.error(
                id_node,
                f"rule id '{rule_id}' must be lower-case letters and digits joined by dashes",
            )
        rule = Rule(
            id=rule_id, title=self.string(pairs["title"][1]), location=self.location(id_node)
        )
        for key, (key_node, value) in pairs.items():
            self._set(rule, key, key_node, value)
        if not (rule.all or rule.any):
            raise self.error(pairs["match"][1], "'match' needs at least one 'all' or 'any' query")
        return rule

    def _set(self, rule: Rule, key: str, key_node: yaml.Node, value: yaml.Node) -> None:
        if key in (
            "id",
            "title",
            "author",
            "version",
            "created",
            "modified",
            "references",
            "falsepositives",
        ):
            return
        if key == "description":
            rule.description = self.string(value)
        elif key == "severity":
            severity = self.string(value).lower()
            if severity not in SEVERITIES:
                close = difflib.get_close_matches(severity, SEVERITIES, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.error(
                    value, f"severity '{value.value}' is not one of {', '.join(SEVERITIES)}{hint}"
                )
            rule.severity = severity
        elif key == "status":
            status = self.string(value).lower()
            if status not in STATUSES:
                raise self.error(
                    value, f"status '{value.value}' is not one of {', '.join(STATUSES)}"
                )
            rule.status = status
        elif key == "tags":
            rule.tags = self.strings(value, "tags")
        elif key == "notify":
            rule.notify = self.strings(value, "notifier names")
            rule.notify_location = self.location(value)
        elif key == "enabled":
            rule.enabled = self.boolean(value, key)
        elif key == "min_score":
            rule.min_score = self.number(value, key)
        elif key == "fields":
            rule.fields = self._fields(value)
        elif key == "language":
            language = self.string(value)
            try:
                stemmer_name(language)
            except UnknownLanguageError as error:
                raise self.error(value, str(error)) from None
            rule.language = language
        elif key == "throttle":
            rule.throttle = self._duration(value, key)
        elif key == "match":
            self._match(rule, value)
        elif key == "examples":
            rule.examples = self._examples(value)

    def _fields(self, node: yaml.Node) -> tuple[str, ...]:
        names = self.strings(node, "fields")
        for name in names:
            if name not in QUERY_FIELDS:
                close = difflib.get_close_matches(name, QUERY_FIELDS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.error(
                    node, f"unknown field '{name}'{hint}; fields are {', '.join(QUERY_FIELDS)}"
                )
        return tuple(names) or DEFAULT_FIELDS

    def _duration(self, node: yaml.Node, key: str) -> dt.timedelta:
        try:
            return parse_duration(self.string(node, "a duration"))
        except ValueError as error:
            raise self.error(node, f"'{key}': {error}") from None

    def _match(self, rule: Rule, node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode):
            rule.all = [self.query(node, "'match'")]
            return
        if isinstance(node, yaml.SequenceNode):
            raise self.error(
                node,
                "'match' takes a query string or a mapping with any/all/none lists, not a list",
            )
        for key_node, value in self.mapping(
            node, "'match' (a query or any/all/none)", allowed=MATCH_KEYS
        ):
            setattr(rule, key_node.value, self.queries(value, f"'match.{key_node.value}'"))

    def _examples(self, node: yaml.Node) -> Examples:
        examples = Examples()
        for key_node, value in self.mapping(node, "'examples'", allowed=EXAMPLE_KEYS):
            if not isinstance(value, yaml.SequenceNode):
                raise self.error(value, f"'examples.{key_node.value}' must be a list")
            setattr(examples, key_node.value, [self._example(item) for item in value.value])
        return examples

    def _example(self, node: yaml.Node) -> Example:
        location = self.location(node)
        if isinstance(node, yaml.ScalarNode):
            return Example({"body": node.value}, location)
        fields = {
            k.value: self.string(v)
            for k, v in self.mapping(node, "an example", allowed=EXAMPLE_FIELDS)
        }
        file = fields.pop("file", None)
        if file is not None:
            file = str(Path(self.path).parent / file)
        return Example(fields, location, file)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"'{node.value}'" if node.value else "nothing"
