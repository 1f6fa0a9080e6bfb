"""The shipped rules on the example articles: recall on the topics, precision on look-alikes."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.matching import load_ruleset, match_article
from watcher.seedtext import read_file

ROOT = Path(__file__).resolve().parents[2]
RULESET = load_ruleset([ROOT / "rules"]).ruleset

TOPICS = {
    "2025-05-21-border-patrols-hatay.txt": "border-security",
    "2025-05-19-syrian-refugees-voluntary-returns.txt": "refugee-returns",
    "2025-05-22-pkk-disarmament-weapons-handover.txt": "counter-terrorism",
    "2025-05-23-northeast-syria-prisons-camps-handover.txt": "detention-camps",
    "2025-05-20-oncupinar-customs-gate-reopens.txt": "trade-customs",
    "2025-05-24-israeli-strikes-syria-airspace.txt": "airstrikes-airspace",
    "2025-05-18-eu-lifts-syria-sanctions.txt": "sanctions",
    "2025-05-22-turkiye-jordan-ministers-talks.txt": "bilateral-talks",
}
LOOK_ALIKES = [
    "2025-05-18-football-border-derby.txt",
    "2025-05-21-securities-regulator-fines-brokers.txt",
    "2025-05-20-borderlands-exhibition.txt",
]


def matched(name: str) -> set[str]:
    article = read_file(ROOT / "examples" / name)
    return {m.rule_id for m in match_article(RULESET, article)}


@pytest.mark.parametrize(("name", "rule"), TOPICS.items())
def test_topic_article_matches_its_rule(name: str, rule: str) -> None:
    assert rule in matched(name)


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_look_alike_article_matches_nothing(name: str) -> None:
    assert matched(name) == set()


def test_disarmament_is_not_a_detention_camp_story() -> None:
    assert "detention-camps" not in matched("2025-05-22-pkk-disarmament-weapons-handover.txt")
