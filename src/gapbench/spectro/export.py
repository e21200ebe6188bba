"""Export a build's items as finetuning data for users who train elsewhere.

Formats (image paths are relative to the build directory unless ``absolute=True``):

* ``llava`` -- one JSON array in LLaVA's conversation format (LLaVA-1.5/NeXT ``train.py``):
  ``{"id", "image": path | [paths], "conversations": [{"from": "human", "value": "<image>\\n..."},
  {"from": "gpt", "value": "B"}]}``, one ``<image>`` token per image, in order.
* ``qwen-chat`` -- JSON Lines of chat messages as Qwen2.5-VL's processor chat template takes them:
  ``{"id", "messages": [{"role": "user", "content": [{"type": "image", "image": path}, ...,
  {"type": "text", "text": prompt}]}, {"role": "assistant", "content": [{"type": "text", "text": "B"}]}]}``.

The prompt is exactly the one evaluation uses for the condition; the target is the answer letter.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gapbench.spectro.prompts import check_condition, render_prompt

FORMATS: tuple[str, ...] = ("llava", "qwen-chat")


def _records(data: Path, condition: str, split: str | None, absolute: bool, prompt: str | None
             ) -> list[tuple[str, list[str], str, str]]:
    from gapbench.spectro.build import load_items

    kind, image = check_condition(condition)
    out = []
    for it in load_items(data, split):
        rels = ([it["waveform"]] if image == "spec-wave" else []) + [it["spectrogram"]]
        paths = [str((data / r).resolve()) if absolute else r for r in rels]
        shown = it["options"] if kind == "graphemic" else it["options_ipa"]
        out.append((f"{it['id']}/{condition}", paths, render_prompt(condition, shown, "ABCD", prompt,
                                                                           unit=it.get("unit", "word")), it["answer"]))
    return out


def export(data: str | os.PathLike[str], out: str | os.PathLike[str], fmt: str = "llava", *,
           condition: str = "graphemic-spec", split: str | None = "train", absolute: bool = False,
           prompt: str | None = None) -> int:
    """Write ``out`` in ``fmt``; returns the number of examples."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    recs = _records(Path(data), condition, split, absolute, prompt)
    dest = Path(out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "llava":
        rows: list[dict[str, Any]] = [{
            "id": rid, "image": paths[0] if len(paths) == 1 else paths,
            "conversations": [{"from": "human", "value": "<image>\n" * len(paths) + text},
                              {"from": "gpt", "value": answer}],
        } for rid, paths, text, answer in recs]
        dest.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    else:
        lines = []
        for rid, paths, text, answer in recs:
            content: list[dict[str, str]] = [{"type": "image", "image": p} for p in paths]
            content.append({"type": "text", "text": text})
            lines.append(json.dumps({"id": rid, "messages": [
                {"role": "user", "content": content},
                {"role": "assistant", "content": [{"type": "text", "text": answer}]}]}, ensure_ascii=False))
        dest.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return len(recs)
