"""Rule-engine benchmark: generated articles against 10, 100 and 1,000 generated rules.

Every figure is printed beside a baseline measured in the same run: a naive matcher that tests
each rule's terms one by one with regular expressions. Run on one core:

    taskset -c 0 python benchmarks/bench_rules.py [--articles 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import re
import tempfile
import time
from pathlib import Path

from watcher.article import Article, Block
from watcher.matching import load_ruleset, match_article

FUNCTION_WORDS = """
the of and to a in that is was he for it with as his on be at by i this had not are but
from or have an they which one you were her all she there would their we him been has when
who will more no if out so said what up its about into than them can only other new some
could time these two may then do first any my now such like our over man me even most made
after also did many before must through back years where much your way well down should
because each just those people how too little state good very make world still own see men
""".split()
TOPIC_WORDS = """
border security refugees return minister talks sanctions customs trade airstrike airspace
militants camp prison handover disarmament government president ceasefire aid convoy
crossing patrol smuggling province capital parliament election economy inflation exports
drone strike army police court judge protest agreement delegation summit visit cooperation
energy pipeline gas oil market investors bank currency tourism festival museum stadium
league coach striker season injury transfer championship rainfall drought harvest wildfire
""".split()
SYLLABLES = """
ka ri to ne sa lo mi da ve ru po ta li en ar on us ol am is or ut el an
""".split()


def vocabulary(rng: random.Random, size: int = 20000) -> list[str]:
    words = set(FUNCTION_WORDS) | set(TOPIC_WORDS)
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    ordered = FUNCTION_WORDS + TOPIC_WORDS + sorted(words - set(FUNCTION_WORDS) - set(TOPIC_WORDS))
    return ordered


def zipf_sampler(rng: random.Random, words: list[str]):
    weights = [1 / (rank + 1) ** 1.05 for rank in range(len(words))]
    return lambda k: rng.choices(words, weights=weights, k=k)


def sentence(sample, rng: random.Random) -> str:
    words = sample(rng.randint(8, 24))
    words[0] = words[0].capitalize()
    if rng.random() < 0.15:
        words.insert(
            rng.randrange(len(words)),
            rng.choice(["Türkiye’s", "Şanlıurfa", "İbrahim", "counter‑terrorism"]),
        )
    return " ".join(words) + rng.choice([".", ".", ".", "?", ","]).replace(",", ".")


def article(sample, rng: random.Random) -> Article:
    paragraphs = []
    for _ in range(rng.randint(8, 14)):
        paragraphs.append(" ".join(sentence(sample, rng) for _ in range(rng.randint(1, 3))))
    body = [Block(text=p) for p in paragraphs]
    if rng.random() < 0.5:
        body.insert(len(body) // 2, Block(kind="subheading", text=" ".join(sample(4)).capitalize()))
    return Article(
        date=dt.date(2025, 5, 20),
        section=rng.choice(["WORLD", "MIDDLE EAST", "BUSINESS", "SPORT", "TÜRKİYE"]),
        title=" ".join(sample(rng.randint(7, 12))).capitalize(),
        summary=sentence(sample, rng),
        caption=sentence(sample, rng) + " (Photo: Agency) / AA",
        age="3 hours ago",
        body=body,
        source="Wire and Agencies",
    )


def rule_yaml(index: int, rng: random.Random, mid: list[str]) -> tuple[str, list[str]]:
    """A rule that uses the query forms in turn; also returns its bare terms for the baseline."""
    pick = lambda: rng.choice(mid)  # noqa: E731
    a, b, c, d = pick(), pick(), pick(), pick()
    # Topic rules combine terms: each query needs two of them, as real rules do.
    forms = [
        (f"{a} {b}", [a, b]),
        (f'"{a} {b}"', [f"{a} {b}"]),
        (f"{a[:-1]}* NEAR/5 {b}", [a[:-1], b]),
        (f"{a} ONEAR/3 ({b} OR {c})", [a, b, c]),
        (f"={a} AND ({b} OR {c})", [a, b, c]),
        (f'title:{a} OR summary:"{b} {c}"', [a, f"{b} {c}"]),
        (f"@watch{index % 20} NEAR/8 {a}", [f"{w}{index % 20}" for w in ("alpha", "beta")]),
        (f"{a} {b} NOT {c}", [a, b]),
        (f"{c} NEAR/4 /{a[:3]}[a-z]+ {b[:3]}/", [c]),
        (f"{{{a.upper()}}} NEAR/5 {c} OR {a}-{b}", [a, f"{a}-{b}"]),
    ]
    chosen = [forms[(index + k) % len(forms)] for k in range(3)]
    queries = "\n".join(f"    - >-\n      {q}" for q, _ in chosen)
    terms = [t for _, ts in chosen for t in ts]
    text = (
        f"id: rule-{index}\ntitle: Generated rule {index}\nseverity: medium\n"
        f"match:\n  any:\n{queries}\n  none:\n    - '{d} NEAR/2 {a}'\n"
    )
    return text, terms


def write_rules(directory: Path, count: int, rng: random.Random, mid: list[str]) -> list[list[str]]:
    lists = "\n".join(
        f"watch{i}: [alpha{i}, beta{i}, '\"{mid[i]} {mid[i + 1]}\"']" for i in range(20)
    )
    (directory / "_lists.yaml").write_text(lists + "\n", encoding="utf-8")
    all_terms = []
    for index in range(count):
        text, terms = rule_yaml(index, rng, mid)
        (directory / f"rule-{index:04}.yaml").write_text(text, encoding="utf-8")
        all_terms.append(terms)
    return all_terms


class NaiveMatcher:
    """The baseline: every term of every rule, one regular expression each, on the whole text."""

    def __init__(self, rule_terms: list[list[str]]) -> None:
        self.rules = [
            [re.compile(r"\b" + re.escape(term) + r"\b", re.IGNORECASE) for term in terms]
            for terms in rule_terms
        ]

    def match(self, item: Article) -> int:
        text = "\n".join([item.title, item.summary, item.caption, *(b.text for b in item.body)])
        return sum(1 for patterns in self.rules if any(p.search(text) for p in patterns))


NAIVE_SAMPLE = 300


def timed(function, items) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    hits = sum(function(item) for item in items)
    return time.perf_counter() - start, hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    words = vocabulary(rng)
    sample = zipf_sampler(rng, words)
    # Rule terms come from the less frequent words, as topic terms do in news.
    mid = words[500:20000]
    articles = [article(sample, rng) for _ in range(args.articles)]
    tokens = sum(len(a.title.split()) + sum(len(b.text.split()) for b in a.body) for a in articles)
    print(f"{len(articles)} articles, {tokens / len(articles):.0f} words each on average")
    print(
        f"{'rules':>6} {'load+compile':>13} {'articles/s':>11} {'naive/s':>9} {'speed-up':>9} "
        f"{'matches/art':>12}"
    )
    costs = {}
    for count in (10, 100, 1000):
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            terms = write_rules(directory, count, random.Random(count), mid)
            start = time.perf_counter()
            loaded = load_ruleset([directory])
            load_seconds = time.perf_counter() - start
        assert not loaded.errors, loaded.errors[:3]
        gc.freeze()
        ruleset = loaded.ruleset
        engine_seconds, hits = timed(lambda a, rs=ruleset: len(match_article(rs, a)), articles)
        naive = NaiveMatcher(terms)
        # The baseline is slow at 1,000 rules: time it on a sample and scale to the same count.
        sample_size = min(len(articles), NAIVE_SAMPLE)
        naive_seconds, _ = timed(naive.match, articles[:sample_size])
        naive_seconds *= len(articles) / sample_size
        gc.unfreeze()
        costs[count] = engine_seconds
        print(
            f"{count:>6} {load_seconds:>12.2f}s {len(articles) / engine_seconds:>11,.0f} "
            f"{len(articles) / naive_seconds:>9,.0f} {naive_seconds / engine_seconds:>8.1f}× "
            f"{hits / len(articles):>12.2f}"
        )
    print(f"cost(1000 rules) / cost(10 rules) = {costs[1000] / costs[10]:.2f}× (target ≤ 3×)")


if __name__ == "__main__":
    main()
