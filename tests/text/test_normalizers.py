"""The vendored whisper normaliser against openai-whisper itself; the ``basic`` rules."""
from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

from gapbench.errors import InputError
from gapbench.text import normalizers as N

ADVERSARIAL = [
    "twenty one point five",
    "It costs $20 million.",
    "twenty dollars and seven cents",
    "$2 and 7 cents",
    "one hundred and twenty three thousand four hundred and fifty six",
    "the 1st, 2nd and 3rd; the twenty first century",
    "ten percent, 10%, ten per cent",
    "£5.99 or €3.50 or ¢50",
    "minus three and a half degrees",
    "one oh one, double seven, triple zero",
    "the 1960s and the nineteen sixties",
    "1,000,000 people; 3.14159",
    "Mr. Smith met Mrs. Jones and Dr. Who at St. Paul's",
    "Prof. Lt. Col. Gen. Sen. Jr.",
    "half-cock, well-known, so-called",
    "naïve café résumé Œuvre Straße smørrebrød Þór Łódź",
    "[laughter] hello (inaudible) <unk> world",
    "hmm uh um mhm mm I think",
    "colour favourite organise analyse centre theatre travelled",
    "I won't, he's, she'd been, they've, we're, I'm, can't, y'all, let's",
    "gonna wanna gotta ma'am ain't",
    "it 's a test ' quote",
    "",
    "   ",
    "\tTabs\tand\nnewlines  ",
    "ONE TWO THREE",
    "one",
    "ones and twos",
    "a 1 b 2 c",
    "version 1.2.3 at 192.168.0.1",
    "point five",
    "and a half",
    "fifty fifty",
    "the eleventh hour, twelfth night, the hundredth time",
    "first second third fourth",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "emoji 😀 and ™ © ® symbols ±",
    "he said «bonjour» — then left…",
    "O'Neill's rock’n’roll",
]


def _pairs(refdata: Path) -> list[dict]:
    return [json.loads(line) for line in (refdata / "wer" / "pairs.jsonl").read_text().splitlines() if line]


def test_reproduces_normalized_jsonl(refdata: Path) -> None:
    pairs = _pairs(refdata)
    expected = [json.loads(line) for line in (refdata / "wer" / "normalized.jsonl").read_text().splitlines() if line]
    assert len(pairs) == len(expected) == 401
    norm = N.EnglishTextNormalizer()
    for p, e in zip(pairs, expected):
        assert p["id"] == e["id"]
        assert norm(p["ref"]) == e["ref_norm"], p["id"]
        assert norm(p["hyp"]) == e["hyp_norm"], p["id"]


def _load_real_whisper_english() -> types.ModuleType:
    """Import ``whisper.normalizers.english`` without running ``whisper/__init__`` (torch)."""
    spec = importlib.util.find_spec("whisper")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("openai-whisper is not installed (pip install --no-deps openai-whisper)")
    location = list(spec.submodule_search_locations)[0]
    if not (Path(location) / "normalizers" / "english.py").is_file():
        pytest.skip(f"no whisper/normalizers/english.py under {location}")
    saved = {k: v for k, v in sys.modules.items() if k == "whisper" or k.startswith("whisper.")}
    stub = types.ModuleType("whisper")
    stub.__path__ = [location]  # type: ignore[attr-defined]
    sys.modules["whisper"] = stub
    try:
        for k in [k for k in sys.modules if k.startswith("whisper.")]:
            del sys.modules[k]
        return importlib.import_module("whisper.normalizers.english")
    finally:
        for k in [k for k in sys.modules if k == "whisper" or k.startswith("whisper.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def test_matches_real_openai_whisper(refdata: Path) -> None:
    real = _load_real_whisper_english()
    ours, theirs = N.EnglishTextNormalizer(), real.EnglishTextNormalizer()
    texts = [t for p in _pairs(refdata) for t in (p["ref"], p["hyp"])] + ADVERSARIAL
    mismatches = [(t, ours(t), theirs(t)) for t in texts if ours(t) != theirs(t)]
    assert not mismatches
    # the number normaliser and the spelling map on their own, too
    assert N.EnglishNumberNormalizer()("twenty one point five") == real.EnglishNumberNormalizer()(
        "twenty one point five"
    )
    assert N.EnglishSpellingNormalizer().mapping == real.EnglishSpellingNormalizer().mapping


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("twenty one point five", "21.5"),
        ("It costs $20 million.", "it costs $20000000"),
        ("the 1st of May", "the 1st of may"),
        ("ten percent", "10%"),
        ("Mr. Smith", "mister smith"),
        ("I won't go", "i will not go"),
        ("he's here", "he is here"),
        ("colour", "color"),
        ("[noise] hello (cough) there", "hello there"),
        ("hmm uh yes", "yes"),
        ("café", "cafe"),
    ],
)
def test_whisper_known_outputs(text: str, expected: str) -> None:
    assert N.whisper_normalize(text).strip() == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("  many   spaces\tand\ttabs\n", "many spaces and tabs"),
        ("Don't stop", "don't stop"),
        ("rock’n’roll", "rock'n'roll"),  # U+2019 inside a word becomes '
        ("'quoted' words'", "quoted words"),  # apostrophes at word edges are punctuation
        ("half-cock", "half cock"),
        ("$3.50 + 20%", "3 50 20"),
        ("«guillemets» “curly” (paren) [brack]", "guillemets curly paren brack"),
        ("ＡＢＣ １２３", "abc 123"),  # NFKC
        ("Café NAÏVE", "café naïve"),  # diacritics kept (not whisper's removal)
        ("emoji 😀 ©", "emoji"),
        ("™ ½", "tm 1 2"),  # NFKC runs first: ™ -> TM, ½ -> 1⁄2 (⁄ is a symbol)
        ("", ""),
        ("...", ""),
    ],
)
def test_basic_rules(text: str, expected: str) -> None:
    assert N.basic_normalize(text) == expected


def test_basic_does_not_rewrite_numbers_or_spellings() -> None:
    assert N.basic_normalize("Twenty colour") == "twenty colour"


def test_get_normalizer() -> None:
    assert N.get_normalizer("none")("A  b") == "A  b"
    assert N.get_normalizer("basic") is N.basic_normalize
    assert N.get_normalizer("whisper")("Colour") == "color"
    with pytest.raises(InputError, match="one of none, basic, whisper"):
        N.get_normalizer("english")


def test_spelling_map_is_package_data() -> None:
    from importlib import resources

    data = json.loads(resources.files("gapbench.text").joinpath("english_spelling.json").read_text("utf-8"))
    assert data["colour"] == "color" and len(data) > 1500
