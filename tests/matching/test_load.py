"""Rule files: YAML traps, file:line:col errors, and one bad file never stopping the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.matching.conftest import make_article
from watcher.matching import load_ruleset, match_article

GOOD = """\
id: border-security
title: Border security
severity: high
match:
  any:
    - '"border security"'
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path) -> list[str]:
    return [str(p) for p in load_ruleset([tmp_path]).problems]


def test_valid_rule_loads_and_matches(tmp_path: Path) -> None:
    write(tmp_path, "border.yaml", GOOD)
    loaded = load_ruleset([tmp_path])
    assert loaded.problems == []
    found = match_article(loaded.ruleset, make_article(body="Talks on border security."))
    assert [m.rule_id for m in found] == ["border-security"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("severity", "sevirity"),
            "x.yaml:3:1: unknown key 'sevirity' (did you mean 'severity'?)",
        ),
        (
            GOOD.replace("high", "urgent"),
            "x.yaml:3:11: severity 'urgent' is not one of info, low, medium, high, critical",
        ),
        (GOOD + "title: again\n", "x.yaml:7:1: duplicate key 'title' (first at line 2)"),
        (
            GOOD.replace("border-security", "Border_Security"),
            "x.yaml:1:5: rule id 'Border_Security' must be lower-case",
        ),
        (
            GOOD.replace("'\"border security\"'", "daesh OR #Daesh"),
            "x.yaml:6:15: a term expected after OR; note: ' #' starts a YAML comment",
        ),
        (
            GOOD.replace("'\"border security\"'", "@daesh NEAR/5 camp"),
            "x.yaml:6:7: YAML syntax error",
        ),
        (
            GOOD.replace("'\"border security\"'", '"refugee returns" NEAR/5 camp'),
            "must be quoted whole",
        ),
        (
            GOOD.replace("'\"border security\"'", "title: kalin"),
            "did you mean the query 'title:kalin'?",
        ),
        (
            GOOD.replace("'\"border security\"'", "'(border OR frontier'"),
            "x.yaml:6:8: unbalanced parenthesis",
        ),
        (
            GOOD.replace("'\"border security\"'", "'@nosuchlist'"),
            "x.yaml:6:8: unknown list @nosuchlist",
        ),
        (
            GOOD.replace("'\"border security\"'", "'/(a/'"),
            "invalid regular expression /(a/: missing )",
        ),
        (GOOD + "enabled: yes\n", "'enabled' must be true or false, not 'yes'"),
        (GOOD + "throttle: soon\n", "'throttle': expected a duration such as 30s"),
        (GOOD + "language: klingon\n", "unknown language 'klingon'"),
        (GOOD + "fields: [title, bodies]\n", "unknown field 'bodies' (did you mean 'body'?)"),
        ("id: x\ntitle: X\nmatch: [a, b]\n", "'match' takes a query string or a mapping"),
        ("id: x\ntitle: X\n", "x.yaml:1:1: a rule needs 'match'"),
    ],
)
def test_rule_errors_name_file_line_column(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, "x.yaml", text)
    found = problems(tmp_path)
    assert found, "expected a problem"
    assert expected in found[0], found


def test_block_scalar_errors_point_into_the_block(tmp_path: Path) -> None:
    text = GOOD.replace(
        "'\"border security\"'", ">-\n      border NEAR/5\n      (security OR patrol"
    )
    write(tmp_path, "x.yaml", text)
    [problem] = problems(tmp_path)
    assert (
        problem.startswith(f"{tmp_path / 'x.yaml'}:8:7: ") and "unbalanced parenthesis" in problem
    )


def test_a_bad_file_never_stops_the_others(tmp_path: Path) -> None:
    write(tmp_path, "a-good.yaml", GOOD)
    write(tmp_path, "b-bad.yaml", "id: broken\ntitle: [unclosed\n")
    write(
        tmp_path,
        "c-good.yaml",
        GOOD.replace("border-security", "frontier").replace("border security", "frontier"),
    )
    loaded = load_ruleset([tmp_path])
    assert sorted(r.rule.id for r in loaded.ruleset.rules) == ["border-security", "frontier"]
    assert len(loaded.errors) == 1 and "b-bad.yaml" in str(loaded.errors[0])


def test_duplicate_rule_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(tmp_path, "b.yaml", GOOD)
    [problem] = problems(tmp_path)
    assert "b.yaml:1:5: duplicate rule id 'border-security' (first defined at" in problem
    assert "a.yaml:1:5" in problem


def test_several_rules_in_one_file_as_a_stream(tmp_path: Path) -> None:
    write(tmp_path, "many.yaml", GOOD + "---\n" + GOOD.replace("border-security", "second"))
    assert len(load_ruleset([tmp_path]).ruleset) == 2


def test_lists_file_and_list_traps(tmp_path: Path) -> None:
    write(tmp_path, "_lists.yaml", "daesh: [daesh, isis, no, '{IS}']\nbad: [daesh, {IS}]\n")
    write(tmp_path, "r.yaml", GOOD.replace("'\"border security\"'", "'@daesh'"))
    loaded = load_ruleset([tmp_path])
    [problem] = loaded.errors
    assert "_lists.yaml:2:14: a mapping where a query was expected" in str(problem)
    assert "quote it as '{IS}'" in str(problem)
    # YAML 1.1 would read `no` as False; a list entry stays the word "no".
    assert match_article(loaded.ruleset, make_article(body="There is no word")) != []


def test_list_cycles_are_errors(tmp_path: Path) -> None:
    write(tmp_path, "_lists.yaml", "a: ['@b']\nb: ['@a']\n")
    write(tmp_path, "r.yaml", GOOD.replace("'\"border security\"'", "'@a'"))
    [problem] = load_ruleset([tmp_path]).errors
    assert "list cycle: @a → @b → @a" in str(problem)


def test_missing_rules_path_is_reported(tmp_path: Path) -> None:
    loaded = load_ruleset([tmp_path / "nowhere"])
    assert "no such rule file or directory" in str(loaded.errors[0])


def test_disabled_rule_is_checked_but_never_matches(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", GOOD + "enabled: false\n")
    loaded = load_ruleset([tmp_path])
    assert loaded.problems == []
    assert match_article(loaded.ruleset, make_article(body="border security")) == []


def test_min_score_threshold(tmp_path: Path) -> None:
    write(tmp_path, "r.yaml", GOOD + "min_score: 3\n")
    ruleset = load_ruleset([tmp_path]).ruleset
    assert match_article(ruleset, make_article(body="border security")) == []
    assert match_article(ruleset, make_article(title="border security")) != []


def test_any_all_none_semantics(tmp_path: Path) -> None:
    write(
        tmp_path,
        "r.yaml",
        "id: r\ntitle: R\nmatch:\n  all: [syria]\n  any: [border, refugees]\n"
        "  none: ['section:sport']\n",
    )
    ruleset = load_ruleset([tmp_path]).ruleset

    def hit(**fields: str) -> bool:
        return bool(match_article(ruleset, make_article(**fields)))

    assert hit(body="Syria border")
    assert hit(body="Syria refugees")
    assert not hit(body="Syria only")
    assert not hit(body="border refugees")
    assert not hit(body="Syria border", section="SPORT")
