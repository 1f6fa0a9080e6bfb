"""The hard cases of DESIGN §4 and research/rules.md §3.4: where naive matchers go wrong."""

from __future__ import annotations

import pytest

from tests.matching.conftest import run_query

LISTS = {
    "daesh": ["daesh", "isis", "isil", '"islamic state"', "{IS}", "deas"],
    "turkiye": ["turkiye*", "{Turkey}", "ankara"],
    "assad": ["assad", "esad", "asad"],
}

# (field text, query, expected)
CASES = [
    pytest.param("Chief İbrahim Kalin arrived", "ibrahim", True, id="dotted-capital-I"),
    pytest.param("Kalin emphasised Türkiye’s respect", "turkiye", True, id="diacritics-possessive"),
    pytest.param("İbrahim Kalın met Sharaa", "Kalin", True, id="dotless-i"),
    pytest.param("DİYARBAKIR governor", "Diyarbakır", True, id="turkish-upper-both-sides"),
    pytest.param("Şanlıurfa province", "Sanliurfa", True, id="s-cedilla-dotless"),
    pytest.param("Tu\u0308rkiye in NFD", "Türkiye", True, id="nfd-vs-nfc"),
    pytest.param(
        "Counter\u2011terrorism and border security", "counter-terrorism", True, id="u2011-dash"
    ),
    pytest.param("a new counter terrorism unit", "counter-terrorism", True, id="spaced-compound"),
    pytest.param("a counterterrorism operation", "counter-terrorism", True, id="joined-compound"),
    pytest.param("Counter-terrorism police", "counterterrorism", True, id="hyphen-to-joined"),
    pytest.param("Counter—terrorism police", "counterterrorism", True, id="em-dash-compound"),
    pytest.param("intensifying Israeli air strikes", "airstrikes", True, id="spaced-to-joined"),
    pytest.param("bor\u00adder security talks", '"border security"', True, id="soft-hyphen"),
    pytest.param("Da\u200besh remnants", "daesh", True, id="zero-width-space"),
    pytest.param("Da\u2060esh and \ufeffISIS", "daesh AND isis", True, id="word-joiner-bom"),
    pytest.param("ＩＳＩＳ fighters", "ISIS", True, id="full-width"),
    pytest.param("\ufb01ghters crossed", "fighters", True, id="ligature"),
    pytest.param(
        "committed to Syria’s unity", '"Syria\'s unity"', True, id="curly-apostrophe-phrase"
    ),
    pytest.param("committed to Syria’s unity", '"syria unity"', True, id="possessive-dropped"),
    pytest.param("the Kurds’ demands", '"kurds demands"', True, id="plural-possessive"),
    pytest.param("the PKK/YPG terrorist organisation", '"PKK YPG"', True, id="slash-separator"),
    pytest.param("handover of Daesh-linked prisons", "daesh", True, id="hyphen-splits"),
    pytest.param("Syrian President Ahmed al Sharaa", "al-Sharaa", True, id="al-space-vs-hyphen"),
    pytest.param("meets Syria’s Al-Sharaa", '"al sharaa"', True, id="al-hyphen-vs-space"),
    pytest.param("Ahmed Alsharaa said", "al-Sharaa", True, id="al-joined"),
    pytest.param(
        "Hay’at Tahrir al-Sham", '"hayat tahrir al-sham"', True, id="inner-apostrophe-joined"
    ),
    pytest.param("Shi'ite militias", "shiite", True, id="inner-apostrophe-shiite"),
    pytest.param("Ankara'ya döndü", "ankara", True, id="turkish-suffix-head"),
    pytest.param("safe return of Syrian refugees", "refugee", True, id="plural"),
    pytest.param("necessary to facilitate returns", "return", True, id="inflection-returns"),
    pytest.param("refugees returned home", "return", True, id="inflection-returned"),
    pytest.param("families are returning", "return", True, id="inflection-returning"),
    pytest.param("thousands of returnees crossed", "return*", True, id="prefix-returnees"),
    pytest.param("thousands of returnees crossed", "return", False, id="stem-misses-returnees"),
    pytest.param("terrorist groups near the border", "terror*", True, id="prefix-terrorist"),
    pytest.param("The securities regulator fined brokers", "security", True, id="stem-collides"),
    pytest.param(
        "The securities regulator fined brokers", "=security", False, id="exact-avoids-collision"
    ),
    pytest.param("border security is tight", "=security", True, id="exact-matches-itself"),
    pytest.param("efforts to stabilise Syria", "stabilize", True, id="uk-us-ise"),
    pytest.param("Turkish Defence Ministry said", '"defense ministry"', True, id="uk-us-ence"),
    pytest.param("a terrorist organisation", "organization", True, id="uk-us-isation"),
    pytest.param("Thanksgiving turkey prices rose", "@turkiye", False, id="case-sensitive-turkey"),
    pytest.param("Ankara and Turkey agreed", "{Turkey}", True, id="case-sensitive-Turkey"),
    pytest.param("the situation is tense", "{IS}", False, id="case-IS-vs-is"),
    pytest.param("Islamic State (IS) fighters", "{IS}", True, id="case-IS-acronym"),
    pytest.param(
        '"This IS a priority," he said',
        "{IS} NEAR/3 (fighter* OR militant*)",
        False,
        id="shouting-IS",
    ),
    pytest.param(
        "IS fighters attacked", "{IS} NEAR/3 (fighter* OR militant*)", True, id="IS-in-context"
    ),
    pytest.param(
        "Esad rejimi / DEAŞ saldırısı", "@assad AND @daesh", True, id="turkish-exonyms-in-lists"
    ),
    pytest.param("remnants of the Islamic State group", "@daesh", True, id="list-phrase"),
]


@pytest.mark.parametrize(("text", "query", "expected"), CASES)
def test_hard_case(text: str, query: str, expected: bool) -> None:
    assert (run_query(query, LISTS, body=text) is not None) is expected


def test_turkish_rule_stems_before_folding() -> None:
    assert run_query("sınır", language="tr", body="Askerler sınırda nöbet tutuyor") is not None
    assert run_query("sınır", language="tr", body="Askerler kentte nöbet tutuyor") is None


def test_evidence_quotes_the_original_characters() -> None:
    match = run_query(
        "counter-terrorism", body="Talks on Counter\u2011terrorism and border security"
    )
    assert match is not None
    [evidence] = match.evidence
    assert evidence.text == "Counter\u2011terrorism"
    assert (evidence.start, evidence.end) == (9, 26)
    assert evidence.term == "counter-terrorism"


def test_evidence_offsets_survive_invisible_and_wide_characters() -> None:
    text = "İbrahim said ＩＳＩＳ and bor\u00adder guards"
    match = run_query("isis AND border", body=text)
    assert match is not None
    for evidence in match.evidence:
        assert text[evidence.start : evidence.end] == evidence.text
    assert [e.text for e in match.evidence] == ["ＩＳＩＳ", "bor\u00adder"]


def test_evidence_for_a_possessive_keeps_the_apostrophe() -> None:
    match = run_query("syria", body="Kalin visited Syria’s capital")
    assert match is not None
    assert match.evidence[0].text == "Syria’s"
