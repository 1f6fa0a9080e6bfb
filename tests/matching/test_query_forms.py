"""Every query form of DESIGN §5, on small texts."""

from __future__ import annotations

import pytest

from tests.matching.conftest import run_query
from watcher.matching.query import QueryError, parse_query

TEXT = "Another pressing issue was the return of Syrian refugees to their homes."


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("refugee ONEAR/3 return", False),  # wrong order
        ("return ONEAR/3 refugee", True),
        ("refugee NEAR/3 return", True),  # either order
        ("return NEAR/1 refugee", False),  # two words between: off by one
        ("return NEAR/2 refugee", True),
        ("return NEAR/0 of", True),  # NEAR/0 = adjacent
        ("(issue OR problem) NEAR/4 return", True),  # groups as operands
        ("(pressing NEAR/1 return) NEAR/10 homes", False),
        ("(pressing NEAR/2 issue) NEAR/10 homes", True),  # nested proximity
        ('"return of syrian refugees" NEAR/2 homes', True),  # phrase operand, gap from its end
    ],
)
def test_proximity(query: str, expected: bool) -> None:
    assert (run_query(query, body=TEXT) is not None) is expected


def test_near_never_crosses_paragraphs_or_fields() -> None:
    two_blocks = "Troops were sent to the border.\n\nSecurity forces said the area was calm."
    assert run_query("border NEAR/3 security", body=two_blocks) is None
    assert run_query("border NEAR/3 security", title="New border", summary="security plan") is None
    assert run_query("border NEAR/3 security", body="the border. Security forces") is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("refugees homes", True),  # implicit AND
        ("refugees AND missing", False),
        ("refugees OR missing", True),
        ("refugees NOT homes", False),  # a NOT b = a AND NOT b
        ("NOT missing", True),
        ("missing OR refugees AND homes", True),  # AND binds tighter than OR
        ("(missing OR refugees) AND nothing", False),
        ("NOT refugees OR homes", True),  # NOT binds tightest: (NOT refugees) OR homes
        ("NOT (refugees OR homes)", False),
    ],
)
def test_boolean_logic(query: str, expected: bool) -> None:
    assert (run_query(query, body=TEXT) is not None) is expected


def test_field_scopes() -> None:
    fields = {
        "title": "Kalin meets Al Sharaa",
        "body": "The lifting of sanctions was discussed.",
        "section": "MIDDLE EAST",
        "source": "TRT World and Agencies",
    }
    assert run_query("title:kalin", **fields) is not None
    assert run_query("title:sanctions", **fields) is None
    assert run_query('section:"middle east"', **fields) is not None
    assert run_query("section:sport", **fields) is None
    assert run_query("source:trt", **fields) is not None
    assert run_query("title:(sanctions OR sharaa)", **fields) is not None
    # Section and source are not searched unless a query names them.
    assert run_query("agencies", **fields) is None


def test_prefix_wildcard_and_phrase_prefix() -> None:
    assert run_query("repatriat*", body="The repatriation began.") is not None
    assert run_query('"border gate*"', body="Two border gates reopened.") is not None
    assert run_query('"border gate*"', body="Two gates on the border reopened.") is None


def test_exact_phrase_is_not_stemmed() -> None:
    assert run_query('="refugee return"', body="a refugee return plan") is not None
    assert run_query('="refugee return"', body="refugees returned") is None
    assert run_query('"refugee return"', body="refugees returned") is not None


def test_regex_runs_on_folded_text() -> None:
    assert run_query(r"/kal[iı]n\b/", body="İbrahim Kalın visited") is not None
    assert (
        run_query(r"/\b\d{3,} (people|refugees)/", body="About 1200 refugees crossed") is not None
    )
    assert run_query(r"/\b\d{5,} refugees/", body="About 1200 refugees crossed") is None
    match = run_query(r"/sharaa/", body="met Al-Sharaa’s aide")
    assert match is not None and match.evidence[0].text == "Sharaa"


def test_regex_in_proximity() -> None:
    assert (
        run_query(r"/\d+ refugees/ NEAR/3 crossed", body="About 1200 refugees crossed") is not None
    )


def test_lists_nest_and_keep_scope() -> None:
    lists = {"daesh": ["daesh", "isis"], "armed": ["@daesh", '"armed group*"']}
    assert run_query("@armed", lists, body="ISIS cells") is not None
    assert run_query("@armed", lists, body="armed groups") is not None
    assert run_query("title:@armed", lists, title="Weather", body="ISIS cells") is None


def test_score_weights_fields_and_counts_each_term_once_per_field() -> None:
    match = run_query(
        "border OR security",
        title="Border talks",
        summary="border plan",
        body="border border security\n\nborder again",
    )
    assert match is not None
    # border: title 3 + summary 2 + body 1; security: body 1.
    assert match.score == 7


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("daesh OR", "a term expected after OR"),
        ("(a OR b", "unbalanced parenthesis"),
        ("a OR b)", "unbalanced parenthesis"),
        ("re*", "at least 3 letters"),
        ("ret*rn", "only a final *"),
        ("a NEAR/x b", "whole number"),
        ("a NEAR b", "needs a distance"),
        ("a NEAR/3 NOT b", "NOT inside"),
        ("(a AND b) NEAR/3 c", "AND inside"),
        ("titel:kalin", "did you mean 'title:'"),
        ('"unterminated', "closing quote"),
        ("/unterminated", "closing '/'"),
        ("{IS", "'}'"),
        ("", "empty query"),
        ("()", "empty parentheses"),
        ("@", "list name"),
    ],
)
def test_query_errors_say_what_was_expected(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(query)


def test_error_column_points_at_the_problem() -> None:
    with pytest.raises(QueryError) as error:
        parse_query("border AND (security OR patrol")
    assert error.value.column == 11


def test_lowercase_operator_is_a_word_with_a_warning() -> None:
    parsed = parse_query("refugees near border")
    assert "did you mean NEAR" in parsed.warnings[0].message


def test_curly_quotes_are_quotes() -> None:
    assert (
        run_query("“border security” NEAR/5 Türkiye", body="border security with Türkiye")
        is not None
    )


def test_hyphenated_word_is_one_term_not_an_exclusion() -> None:
    assert run_query("counter-terrorism", body="counter terrorism") is not None
    assert run_query("counter-terrorism", body="counter measures, not terrorism") is None
