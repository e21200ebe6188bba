from __future__ import annotations

import pytest

from gapbench.core.predictions import Choice
from gapbench.spectro.extract import make_extractor


@pytest.mark.parametrize(("text", "label"), [
    ("B", "B"), ("(b)", "B"), ("b", "B"), ("[C]", "C"), ("D.", "D"), ("  A  ", "A"),
    ("The answer is C.", "C"), ("Answer: (a)", "A"), ("I think it is D because of the formants", "D"),
    ("A. the", "A"), ("The spoken word is (c) thou", "C"),
    ("A or B", ""), ("none", ""), ("", ""), ("It's hard to say", ""), ("E", ""), ("between B and D", ""),
])
def test_adversarial_answers(text: str, label: str) -> None:
    got = make_extractor("ABCD")(text)
    assert isinstance(got, Choice)
    assert got.label == label and got.raw == text


def test_labels_are_configurable() -> None:
    assert make_extractor("AB")("C").label == ""
    assert make_extractor("ABCDE")("E").label == "E"
