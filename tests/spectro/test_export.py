from __future__ import annotations

import json
from pathlib import Path

import pytest

from gapbench.spectro.build import load_items
from gapbench.spectro.export import export


def test_llava(paper_build: Path, tmp_path: Path) -> None:
    n = export(paper_build, tmp_path / "llava.json", "llava", condition="graphemic-spec-wave", split="train")
    rows = json.loads((tmp_path / "llava.json").read_text())
    train = [it for it in load_items(paper_build) if it["split"] == "train"]
    assert n == len(rows) == len(train)
    for row, it in zip(rows, train):
        human, gpt = row["conversations"]
        assert human["from"] == "human" and gpt == {"from": "gpt", "value": it["answer"]}
        assert isinstance(row["image"], list) and human["value"].count("<image>") == len(row["image"]) == 2
        assert all((paper_build / p).is_file() for p in row["image"])


def test_qwen_chat(paper_build: Path, tmp_path: Path) -> None:
    n = export(paper_build, tmp_path / "q.jsonl", "qwen-chat", condition="phonemic-spec", split=None, absolute=True)
    lines = (tmp_path / "q.jsonl").read_text().splitlines()
    assert n == len(lines) == 48
    first = json.loads(lines[0])
    user, assistant = first["messages"]
    assert user["role"] == "user" and [c["type"] for c in user["content"]] == ["image", "text"]
    assert Path(user["content"][0]["image"]).is_absolute() and Path(user["content"][0]["image"]).is_file()
    assert "/" in user["content"][1]["text"]  # IPA options between slashes
    assert assistant["content"][0]["text"] in "ABCD"
    with pytest.raises(ValueError, match="format"):
        export(paper_build, tmp_path / "x", "alpaca")
