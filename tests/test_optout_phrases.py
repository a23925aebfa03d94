# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The spoken opt-outs found in transcripts (realtor_3cx/tools/optout.py), in plain Python."""

import pytest

from realtor_3cx.tools.optout import find_optout, normalise

SAID = [
    # (what the caller said, the words found)
    ("Stop calling me.", "Stop calling me"),
    ("please STOP CALLING ME!!!", "STOP CALLING ME"),
    ("Quit phoning us, okay?", "Quit phoning us"),
    ("Take me off your list.", "Take me off your list"),
    ("can you take my number off of your calling list", "take my number off of your calling list"),
    ("Remove me from your database", "Remove me from your database"),
    ("Don't call this number again", "Don't call this number"),
    ("Don\u2019t call me.", "Don\u2019t call me"),  # a curly apostrophe
    ("dont call me", "dont call me"),
    ("Do not call me, I said.", "Do not call me"),
    ("do-not-call me", "do-not-call me"),
    ("Never call me again", "Never call me again"),
    ("Put me on the do-not-call list.", "Put me on the do-not-call list"),
    ("I don't want any more calls from you", "I don't want any more calls"),
    ("We do not want your calls.", "We do not want your calls"),
    ("No more calls, please", "No more calls"),
]
NOT_SAID = [
    "You never call me back!",  # a complaint, not an opt-out
    "I love that you called me.",
    "Stop by on Tuesday and call me then.",
    "Can you add me to your list of viewings?",
    "The stopcalling app",  # one word
    "",
]


@pytest.mark.parametrize(("text", "words"), SAID)
def test_each_opt_out_is_found_whatever_its_case_and_punctuation(text, words):
    assert find_optout(f"Caller: {text}") == (words, f"Caller: {text}")
    assert find_optout(text)[0] == words  # a transcript without speaker turns


@pytest.mark.parametrize("text", NOT_SAID)
def test_what_is_no_opt_out_is_not_found(text):
    assert find_optout(f"Caller: {text}") is None


def test_the_realtor_s_own_words_are_not_the_caller_s_opt_out():
    said = ("Agent: Shall I take you off our list? I can stop calling you.\n"
            "Realtor: Or stop calling me, ha.\n"
            "Caller: No, I am still looking.")
    assert find_optout(said) is None
    said += "\nCaller: Actually, just take me off your list."
    words, excerpt = find_optout(said)
    assert (words, excerpt) == ("take me off your list",
                                "Caller: Actually, just take me off your list.")


def test_the_excerpt_is_the_line_around_the_words_cut_at_words():
    before = "I have been thinking about the offer on the house and honestly " * 3
    after = " because we have decided to stay where we are for another few years at least" * 2
    words, excerpt = find_optout(f"Caller: {before}stop calling me{after}\nAgent: Sorry.")
    assert words == "stop calling me"
    assert excerpt.startswith("\u2026") and excerpt.endswith("\u2026")
    assert "stop calling me" in excerpt and "Agent" not in excerpt
    assert len(excerpt) <= 2 * 80 + len(words) + 2
    inner = excerpt.strip("\u2026")
    assert f" {inner.split()[0]} " in f" {before}" and f" {inner.split()[-1]}" in after


def test_normalising_keeps_where_each_character_came_from():
    text, origin = normalise("Don\u2019t  CALL, me!")
    assert text == "dont call me "
    assert [origin[i] for i in range(4)] == [0, 1, 2, 4]
