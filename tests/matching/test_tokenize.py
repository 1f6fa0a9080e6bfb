"""The fast tokenizer paths read text exactly as the regular expressions they replace."""

from __future__ import annotations

import random
import re

import pytest

from watcher.text import JOINING_SEPARATORS, fold, tokenize

WORD = re.compile(r"([^\W_]+(?:'[^\W_]+)*)([\W_]*)")
SEPARATORS = re.compile(r"([\W_]+)")


def reference(folded: str) -> tuple[list[str], dict[int, str], list[int], list[tuple[int, int]]]:
    """Words, heads, joinable word indexes and spans, the slow and obvious way."""
    if "'" in folded:
        pairs = WORD.findall(folded)
        raw = [word for word, _ in pairs]
        separators = [separator for _, separator in pairs[:-1]]
        first = WORD.search(folded)
        leading = first.start() if first else 0
    else:
        parts = SEPARATORS.split(folded)
        raw, separators = parts[0::2], parts[1::2]
        leading = 0
        if raw and not raw[0]:
            del raw[0]
            if separators:
                leading = len(separators.pop(0))
        if raw and not raw[-1]:
            raw.pop()
        del separators[max(len(raw) - 1, 0) :]
    words = list(raw)
    heads = {}
    for i, word in enumerate(words):
        if "'" in word:
            if word.endswith("'s"):
                word = word[:-2]
            if "'" in word:
                heads[i] = word.split("'", 1)[0]
                word = word.replace("'", "")
            words[i] = word
    spans = []
    offset = leading
    for word, separator in zip(raw, [*separators, ""], strict=False):
        spans.append((offset, offset + len(word)))
        offset += len(word) + len(separator)
    joinable = [i for i, separator in enumerate(separators) if separator in JOINING_SEPARATORS]
    return words, heads, joinable, spans


ALPHABET = "ab1 -/'_.,\n\t\"’ü"


@pytest.mark.parametrize("seed", range(20))
def test_tokenize_agrees_with_the_regular_expressions(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 24)))
        folded = fold(text).folded
        tokens = tokenize(folded)
        words, heads, joinable, spans = reference(folded)
        assert tokens.words == words, folded
        assert tokens.heads == heads, folded
        assert tokens.joinable == joinable, folded
        assert tokens.spans() == spans, folded
        assert [tokens.joins(i) for i in range(len(words))] == [
            i in joinable for i in range(len(words))
        ], folded


def test_apostrophes_in_ascii_text() -> None:
    tokens = tokenize("'hay'at'' ankara'ya''s  syria's x'''y")
    assert tokens.words == ["hayat", "ankaraya", "s", "syria", "x", "y"]
    assert tokens.heads == {0: "hay", 1: "ankara"}
    assert tokens.joinable == [2, 3]
