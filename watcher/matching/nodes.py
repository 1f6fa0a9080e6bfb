"""Compiled queries: leaves that know how to find themselves in a field, and the logic above."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# An index key: ("form", language, value) or ("prefix", value).
Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Matcher:
    """How one query word meets one token.

    kind `form`: the token's form in `language` (a Snowball stem; None = the folded word) equals
    `value`; `prefix`: the folded word starts with `value`; `case`: the folded word equals
    `value` and the word as written equals `surface`.
    """

    kind: str
    value: str
    language: str | None = None
    surface: str = ""
    folded: str = ""

    def key(self) -> Key:
        if self.kind == "prefix":
            return ("prefix", self.value)
        return ("form", self.language if self.kind == "form" else None, self.value)


@dataclass(frozen=True, slots=True, eq=False)
class Leaf:
    """A term of a query. `alternatives` are word sequences (a phrase and its joined forms)."""

    id: int
    term: str
    fields: tuple[str, ...]
    alternatives: tuple[tuple[Matcher, ...], ...] = ()
    regex: Any = None

    def keys(self) -> set[Key] | None:
        """Index keys, one of which an article must hold for this leaf to match (None: any)."""
        if self.regex is not None:
            return None
        keys = set()
        for alternative in self.alternatives:
            forms = [m for m in alternative if m.kind != "prefix"]
            best = max(forms, key=lambda m: len(m.value)) if forms else alternative[0]
            keys.add(best.key())
        return keys


@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[CNode, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[CNode, ...]


@dataclass(frozen=True, slots=True)
class NoneOf:
    child: CNode


@dataclass(frozen=True, slots=True)
class Within:
    left: CNode
    right: CNode
    distance: int
    ordered: bool


CNode = Leaf | AllOf | AnyOf | NoneOf | Within


def required_groups(node: CNode) -> list[set[Key]]:
    """Key sets, each of which must meet the article for `node` to hold (a necessary test)."""
    if isinstance(node, Leaf):
        keys = node.keys()
        return [keys] if keys else []
    if isinstance(node, AllOf):
        return [group for child in node.children for group in required_groups(child)]
    if isinstance(node, Within):
        return required_groups(node.left) + required_groups(node.right)
    if isinstance(node, AnyOf):
        union: set[Key] = set()
        for child in node.children:
            groups = required_groups(child)
            if not groups:
                return []
            union |= min(groups, key=len)
        return [union]
    return []
