"""Shared WER test inputs: the reference pairs and jiwer's adversarial cases (metrics/ and scoring/)."""
from __future__ import annotations

import json
from pathlib import Path


def load_pairs(refdata: Path) -> list[dict]:
    return [json.loads(x) for x in (refdata / "wer" / "pairs.jsonl").read_text().splitlines() if x]

ADVERSARIAL = [
    ("the cat sat", ""),  # empty hypothesis: all deletions
    ("   ", "   "),  # whitespace-only reference and hypothesis
    ("a\tb  c", "a b c"),  # tab not separated by jiwer's default transform
    ("  multiple   spaces  here ", "multiple spaces here"),
    ("naïve café 😀 日本語", "naive café 😀 日本 語"),
    ("Hello World", "hello world"),
    ("one", "one two three four"),
    ("x\u00a0y z", "x y z"),  # no-break space
]
