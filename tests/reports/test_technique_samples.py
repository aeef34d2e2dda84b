"""Technique pages cut long values (a pasted payload) instead of burying the tables."""

from rulelint.reports.technique import SAMPLE_CHARS, sample_text


def test_long_value_is_cut_and_says_how_long():
    value = "a" * 39_708
    shown = sample_text(value)
    assert shown.startswith("a" * SAMPLE_CHARS) and shown.endswith("... (39,708 characters)")
    assert len(shown) < 200


def test_short_value_is_shown_whole():
    assert sample_text("\\powershell.exe") == "\\powershell.exe"
