"""The query language (DESIGN §5): a string → an AST, with the column of every error."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from watcher.article import QUERY_FIELDS

OPEN_QUOTES = '"“”„'
CLOSE_QUOTES = '"“”„'
# Characters that end a bare word (besides whitespace).
_WORD_STOP = set("()" + OPEN_QUOTES + "{}")
_PROXIMITY = re.compile(r"(O?NEAR)/(\S*)$")
_FIELD_PREFIX = re.compile(r"([A-Za-z]+):")
_LIST_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


class QueryError(ValueError):
    """A problem in a query, at `column` (0-based, into the query string)."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


# ---------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class Term:
    """A leaf. `kind`: word, exact, phrase, exact_phrase, prefix, case, regex."""

    kind: str
    text: str  # as written in the query, shown as the evidence's `term`
    value: str  # the words (or the pattern) without the operator characters
    column: int


@dataclass(frozen=True, slots=True)
class ListRef:
    name: str
    column: int


@dataclass(frozen=True, slots=True)
class Scoped:
    field: str
    child: Node
    column: int


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    column: int


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int
    ordered: bool
    column: int


Node = Term | ListRef | Scoped | And | Or | Not | Near


@dataclass(slots=True)
class ParsedQuery:
    root: Node
    warnings: list[QueryError] = field(default_factory=list)


# ---------------------------------------------------------------------------- lexer


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # LPAREN RPAREN AND OR NOT NEAR FIELD TERM LIST
    text: str
    column: int
    node: Node | None = None
    distance: int = 0
    ordered: bool = False


def _lex(query: str, warnings: list[QueryError]) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(_Token("LPAREN" if c == "(" else "RPAREN", c, i))
            i += 1
        elif c in OPEN_QUOTES:
            end = _closing_quote(query, i + 1, i)
            value = query[i + 1 : end]
            _require_words(value, i)
            tokens.append(_term("phrase", query[i : end + 1], value, i))
            i = end + 1
        elif c == "=":
            if i + 1 < n and query[i + 1] in OPEN_QUOTES:
                end = _closing_quote(query, i + 2, i + 1)
                value = query[i + 2 : end]
                _require_words(value, i)
                tokens.append(_term("exact_phrase", query[i : end + 1], value, i))
                i = end + 1
            else:
                end = _word_end(query, i + 1)
                value = query[i + 1 : end]
                if not value:
                    raise QueryError("a word or a quoted phrase expected after '='", i)
                _no_wildcard(value, i, "an exact term (=)")
                tokens.append(_term("exact", query[i:end], value, i))
                i = end
        elif c == "{":
            end = query.find("}", i + 1)
            if end < 0:
                raise QueryError("unclosed '{': expected '}' after the case-sensitive word", i)
            value = query[i + 1 : end].strip()
            _require_words(value, i)
            tokens.append(_term("case", query[i : end + 1], value, i))
            i = end + 1
        elif c == "/":
            end = _regex_end(query, i)
            pattern = query[i + 1 : end]
            if not pattern:
                raise QueryError("empty regular expression '//'", i)
            tokens.append(_term("regex", query[i : end + 1], pattern, i))
            i = end + 1
        elif c == "@":
            match = _LIST_NAME.match(query, i + 1)
            if not match:
                raise QueryError("a list name expected after '@'", i)
            name = match.group()
            tokens.append(_Token("LIST", query[i : match.end()], i, ListRef(name, i)))
            i = match.end()
        elif c in "}":
            raise QueryError("unexpected '}' (no '{' before it)", i)
        elif field_match := _FIELD_PREFIX.match(query, i):
            tokens.append(_Token("FIELD", _field_name(field_match.group(1), i), i))
            i = field_match.end()
        else:
            end = _word_end(query, i)
            word = query[i:end]
            tokens.append(_classify_word(word, i, warnings))
            i = end
    return tokens


def _field_name(name: str, column: int) -> str:
    lowered = name.lower()
    if lowered in QUERY_FIELDS:
        return lowered
    hint = difflib.get_close_matches(lowered, QUERY_FIELDS, n=1)
    suggestion = f" (did you mean '{hint[0]}:'?)" if hint else ""
    raise QueryError(
        f"unknown field '{name}:'{suggestion}; fields are {', '.join(QUERY_FIELDS)}", column
    )


def _term(kind: str, text: str, value: str, column: int) -> _Token:
    return _Token("TERM", text, column, Term(kind, text, value, column))


def _closing_quote(query: str, start: int, opening: int) -> int:
    for j in range(start, len(query)):
        if query[j] in CLOSE_QUOTES:
            return j
    raise QueryError("unterminated phrase: a closing quote expected", opening)


def _regex_end(query: str, start: int) -> int:
    j = start + 1
    while j < len(query):
        if query[j] == "\\":
            j += 2
            continue
        if query[j] == "/":
            return j
        j += 1
    raise QueryError("unterminated regular expression: a closing '/' expected", start)


def _word_end(query: str, start: int) -> int:
    j = start
    while j < len(query) and not query[j].isspace() and query[j] not in _WORD_STOP:
        j += 1
    return j


def _require_words(value: str, column: int) -> None:
    if not any(ch.isalnum() for ch in value):
        raise QueryError("empty phrase: a phrase needs at least one word", column)


def _no_wildcard(value: str, column: int, what: str) -> None:
    if "*" in value:
        raise QueryError(f"'*' is not allowed in {what}", column)


def _classify_word(word: str, column: int, warnings: list[QueryError]) -> _Token:
    if word in ("AND", "OR", "NOT"):
        return _Token(word, word, column)
    proximity = _PROXIMITY.match(word)
    if proximity:
        operator, raw = proximity.groups()
        if not raw.isdigit():
            raise QueryError(
                f"{operator} needs a word distance: expected {operator}/N with a whole number, "
                f"got {word!r}",
                column,
            )
        return _Token("NEAR", word, column, distance=int(raw), ordered=operator == "ONEAR")
    if word in ("NEAR", "ONEAR"):
        raise QueryError(f"{word} needs a distance: expected {word}/N, e.g. {word}/5", column)
    if word.lower() in ("and", "or", "not") or re.fullmatch(r"o?near(/\d+)?", word.lower()):
        warnings.append(
            QueryError(
                f"'{word}' is read as a word; operators are written in capitals "
                f"(did you mean {word.upper()}?)",
                column,
            )
        )
    if word.startswith("-") and len(word) > 1:
        warnings.append(
            QueryError(
                f"'{word}': a leading '-' is not an operator; write NOT {word[1:]} to exclude",
                column,
            )
        )
    if word.endswith("*"):
        stem = word[:-1]
        _no_wildcard(stem, column, "the middle of a word (only a final * is a wildcard)")
        if sum(ch.isalnum() for ch in stem) < 3:
            raise QueryError(f"'{word}': a prefix needs at least 3 letters before '*'", column)
        return _term("prefix", word, stem, column)
    _no_wildcard(word, column, "the middle of a word (only a final * is a wildcard)")
    if not any(ch.isalnum() for ch in word):
        raise QueryError(f"'{word}' is not a term: a word needs letters or digits", column)
    return _term("word", word, word, column)


# ---------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, query: str, tokens: list[_Token]) -> None:
        self.query = query
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def end_column(self) -> int:
        return len(self.query.rstrip())

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("empty query: a term expected", 0)
        node = self.parse_or()
        token = self.peek()
        if token is not None:
            if token.kind == "RPAREN":
                raise QueryError("unbalanced parenthesis: ')' without a matching '('", token.column)
            raise QueryError(f"unexpected {token.text!r}", token.column)
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            children.append(self.parse_and(after=token))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self, after: _Token | None = None) -> Node:
        children = [self.parse_not(after)]
        while (token := self.peek()) is not None and token.kind not in ("OR", "RPAREN"):
            if token.kind == "AND":
                self.take()
                children.append(self.parse_not(after=token))
            else:
                children.append(self.parse_not())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_not(self, after: _Token | None = None) -> Node:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.take()
            return Not(self.parse_not(after=token), token.column)
        return self.parse_near(after)

    def parse_near(self, after: _Token | None = None) -> Node:
        node = self.parse_unary(after)
        while (token := self.peek()) is not None and token.kind == "NEAR":
            self.take()
            right = self.parse_unary(after=token)
            for operand in (node, right):
                _check_near_operand(operand, token)
            node = Near(node, right, token.distance, token.ordered, token.column)
        return node

    def parse_unary(self, after: _Token | None = None) -> Node:
        token = self.peek()
        if token is None or token.kind in ("RPAREN", "OR", "AND", "NEAR"):
            column = token.column if token is not None else self.end_column()
            if after is not None:
                raise QueryError(f"a term expected after {after.text}", column)
            if token is not None and token.kind == "RPAREN":
                raise QueryError("unbalanced parenthesis: ')' without a matching '('", column)
            what = token.text if token is not None else "the end"
            raise QueryError(f"a term expected before {what}", column)
        self.take()
        if token.kind == "LPAREN":
            if (inner := self.peek()) is not None and inner.kind == "RPAREN":
                raise QueryError("empty parentheses: a query expected inside '( )'", token.column)
            node = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != "RPAREN":
                raise QueryError("unbalanced parenthesis: '(' is never closed", token.column)
            self.take()
            return node
        if token.kind == "FIELD":
            child = self.parse_unary(after=_Token("FIELD", f"'{token.text}:'", token.column))
            return Scoped(token.text, child, token.column)
        if token.kind == "NOT":
            where = f"a {after.text} operand" if after is not None else "this place"
            raise QueryError(
                f"NOT inside {where} is not supported: put the exclusion outside, "
                "e.g. (a NEAR/5 b) NOT c",
                token.column,
            )
        assert token.node is not None
        return token.node


def _check_near_operand(node: Node, operator: _Token) -> None:
    if isinstance(node, Not):
        raise QueryError(
            f"NOT inside a {operator.text} operand is not supported: "
            "put the exclusion outside, e.g. (a NEAR/5 b) NOT c",
            node.column,
        )
    if isinstance(node, And):
        raise QueryError(
            f"AND inside a {operator.text} operand is not supported: nest proximity instead, "
            "e.g. (a NEAR/5 b) NEAR/5 c",
            operator.column,
        )
    children: tuple[Node, ...] = ()
    if isinstance(node, Or):
        children = node.children
    elif isinstance(node, Scoped):
        children = (node.child,)
    for child in children:
        _check_near_operand(child, operator)


def parse_query(query: str) -> ParsedQuery:
    """Parse one query string; raises QueryError with the column of the problem."""
    warnings: list[QueryError] = []
    tokens = _lex(query, warnings)
    root = _Parser(query, tokens).parse()
    return ParsedQuery(root, warnings)
