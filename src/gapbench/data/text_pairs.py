"""Reference/hypothesis text pairs for WER and CER: JSON Lines manifests and Kaldi ``text`` files.

* **JSONL** (``PAIRS.jsonl``): one JSON object a line with string fields ``ref`` and ``hyp`` and an
  optional ``id`` (string or integer; other fields are ignored). Either every record has an ``id``
  or none does; ids must be unique. Blank lines are skipped.
* **Kaldi** ``text`` files (``utt_id word word ...``): the first whitespace-separated token is the
  utterance id, the rest of the line (possibly nothing) its words, re-joined with single spaces.
  A reference and a hypothesis file are joined on utterance id, in reference-file order; every id
  must be in both files.

Files are read as UTF-8 (a leading byte-order mark is ignored), lines end in ``\n`` or ``\r\n``
(see :mod:`gapbench.data.textfile`). A path of ``-`` reads standard input (named ``<stdin>`` in
errors); only one input of a call may be ``-``. Every problem raises
:class:`gapbench.errors.InputError` naming the file and the 1-based line number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import NamedTuple

from gapbench.data.textfile import check_one_stdin, display_name, read_lines
from gapbench.errors import InputError

MAX_IDS_SHOWN = 5


class TextPair(NamedTuple):
    """One utterance: reference text, hypothesis text, and its id (``None`` when the input had none)."""

    ref: str
    hyp: str
    id: str | None = None


def _lines(path: str | os.PathLike[str]) -> Iterable[tuple[int, str]]:
    """``(line_number, text)`` for each non-blank line (``-``: standard input)."""
    for number, line in enumerate(read_lines(path, allow_stdin=True), start=1):
        if line and not line.isspace():
            yield number, line


def _id_of(value: object, path: str, number: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(path, number, '"id" to be a string or an integer', value)
    return str(value)


class PairColumns(NamedTuple):
    """Parallel lists of a pairs file: references, hypotheses, ids (``None`` when it has none)."""

    refs: list[str]
    hyps: list[str]
    ids: list[str] | None


def _check_record(path: str, number: int, obj: object) -> None:
    """Raise the precise error for a record the fast path rejected."""
    if not isinstance(obj, dict):
        raise InputError(path, number, 'a JSON object with "ref" and "hyp"', obj)
    for key in ("ref", "hyp"):
        if key not in obj:
            raise InputError(path, number, f'a "{key}" field', sorted(obj))
        if not isinstance(obj[key], str):
            raise InputError(path, number, f'"{key}" to be a string', obj[key])


def read_pairs_columns(path: str | os.PathLike[str]) -> PairColumns:
    """Read a ``{"id"?, "ref", "hyp"}`` JSON Lines file into columns (see the module docstring)."""
    lines = _lines(path)
    path = display_name(path)
    loads = json.loads
    refs: list[str] = []
    hyps: list[str] = []
    ids: list[str] = []
    seen: dict[str, int] = {}
    has_ids: bool | None = None
    for number, line in lines:
        try:
            obj = loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(path, number, f"a JSON object ({exc.msg})", line) from None
        try:
            ref, hyp = obj["ref"], obj["hyp"]
        except (KeyError, TypeError, IndexError):
            _check_record(path, number, obj)
            raise
        if type(ref) is not str or type(hyp) is not str:
            _check_record(path, number, obj)
        uid = obj.get("id")
        record_has_id = uid is not None
        if has_ids is not record_has_id:
            if has_ids is None:
                has_ids = record_has_id
            else:
                expected = (
                    'an "id" like the records before it'
                    if has_ids
                    else 'no "id" like the records before it (all or none)'
                )
                raise InputError(path, number, expected)
        if record_has_id:
            if type(uid) is not str:
                uid = _id_of(uid, path, number)
            if uid in seen:
                raise InputError(path, number, f"a unique id (also on line {seen[uid]})", uid)
            seen[uid] = number
            ids.append(uid)
        refs.append(ref)
        hyps.append(hyp)
    if not refs:
        raise InputError(path, None, 'at least one {"ref", "hyp"} record', "an empty file")
    return PairColumns(refs, hyps, ids if has_ids else None)


def read_pairs_jsonl(path: str | os.PathLike[str]) -> list[TextPair]:
    """Read a ``{"id"?, "ref", "hyp"}`` JSON Lines file into :class:`TextPair` s."""
    refs, hyps, ids = read_pairs_columns(path)
    return [TextPair(r, h, u) for r, h, u in zip(refs, hyps, ids if ids is not None else [None] * len(refs))]


def read_kaldi_text(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a Kaldi ``text`` file into ``{utt_id: "word word ..."}`` (file order)."""
    lines = _lines(path)
    path = display_name(path)
    texts: dict[str, str] = {}
    lines_of: dict[str, int] = {}
    for number, line in lines:
        parts = line.split(maxsplit=1)
        uid = parts[0]
        if uid in texts:
            raise InputError(path, number, f"a unique utterance id (also on line {lines_of[uid]})", uid)
        texts[uid] = " ".join(parts[1].split()) if len(parts) > 1 else ""
        lines_of[uid] = number
    if not texts:
        raise InputError(path, None, "at least one `utt_id words...` line", "an empty file")
    return texts


def _some(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_SHOWN])
    return shown + (", ..." if len(ids) > MAX_IDS_SHOWN else "")


def check_same_ids(a_ids: Iterable[str], b_ids: Iterable[str], a_name: object, b_name: object) -> None:
    """Raise one InputError listing the ids found in only one of two utterance sets."""
    a_list, b_list = list(a_ids), list(b_ids)
    a_set, b_set = set(a_list), set(b_list)
    only_a = [u for u in a_list if u not in b_set]
    only_b = [u for u in b_list if u not in a_set]
    if only_a or only_b:
        parts = []
        if only_a:
            parts.append(f"{len(only_a)} id(s) only in {a_name} ({_some(only_a)})")
        if only_b:
            parts.append(f"{len(only_b)} id(s) only in {b_name} ({_some(only_b)})")
        raise InputError(str(b_name), None, f"the same utterance ids as {a_name}; " + "; ".join(parts))


def join_kaldi(ref_file: str | os.PathLike[str], hyp_file: str | os.PathLike[str]) -> list[TextPair]:
    """Join Kaldi reference and hypothesis files on utterance id (reference order)."""
    check_one_stdin(ref_file, hyp_file)
    refs = read_kaldi_text(ref_file)
    hyps = read_kaldi_text(hyp_file)
    check_same_ids(refs, hyps, display_name(ref_file), display_name(hyp_file))
    return [TextPair(text, hyps[uid], uid) for uid, text in refs.items()]
