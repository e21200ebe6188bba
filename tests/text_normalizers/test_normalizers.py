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
from gapbench.text_normalizers import normalizers as N

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


BASIC_CASES = [
    "Hello, World!",
    "  many   spaces\tand\ttabs\n",
    "single\ttab stays",
    "Don't stop",
    "rock’n’roll",
    "'quoted' words'",
    "half-cock",
    "$3.50 + 20%",
    "«guillemets» “curly” (paren) [brack]",
    "ＡＢＣ １２３",
    "Café NAÏVE İstanbul",
    "emoji 😀 ©",
    "™ ½",
    "",
    "...",
    " - ",
    "a_b a—b a–b ¿qué? ¡sí!",
]


def _jiwer_basic():
    import jiwer

    return jiwer.Compose(
        [jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()]
    )


@pytest.mark.parametrize("text", BASIC_CASES)
def test_basic_equals_jiwer_transforms(text: str) -> None:
    assert N.basic_normalize(text) == _jiwer_basic()(text)


def test_basic_rules_spelled_out() -> None:
    assert N.basic_normalize("Don't stop, half-cock!") == "dont stop halfcock"
    assert N.basic_normalize("A  \t B") == "a b"
    assert N.basic_normalize("$3.50") == "$350"  # symbols are not punctuation


def test_basic_on_reference_pairs_equals_jiwer(refdata: Path) -> None:
    import json

    transform = _jiwer_basic()
    for line in (refdata / "wer" / "pairs.jsonl").read_text().splitlines():
        pair = json.loads(line)
        for text in (pair["ref"], pair["hyp"]):
            assert N.basic_normalize(text) == transform(text)


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

    data = json.loads(resources.files("gapbench.text_normalizers").joinpath("english_spelling.json").read_text("utf-8"))
    assert data["colour"] == "color" and len(data) > 1500


def test_lazy_punctuation_table_equals_the_full_category_scan() -> None:
    """The table fills on demand; every Basic Multilingual Plane code point gets jiwer's verdict."""
    import unicodedata

    text = "".join(chr(i) for i in range(0x10000) if not 0xD800 <= i < 0xE000)
    want = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
    assert text.translate(N._punctuation_table()) == want
