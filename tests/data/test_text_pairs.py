"""JSONL pairs and Kaldi text files: good input parses, every kind of bad input names file + line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gapbench.data.text_pairs import TextPair, join_kaldi, read_kaldi_text, read_pairs_jsonl
from gapbench.errors import InputError


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_reads_reference_pairs(refdata: Path) -> None:
    pairs = read_pairs_jsonl(refdata / "wer" / "pairs.jsonl")
    assert len(pairs) == 401
    assert pairs[0].id == "00000_arctic_b0300"
    assert any(p.hyp == "" for p in pairs)


def test_blank_lines_crlf_bom_and_int_ids(tmp_path: Path) -> None:
    text = '\ufeff{"id": 1, "ref": "a b", "hyp": "a"}\r\n\r\n   \n{"id": "x", "ref": "", "hyp": "c", "extra": 3}\n'
    p = _write(tmp_path, "p.jsonl", text)
    assert read_pairs_jsonl(p) == [TextPair("a b", "a", "1"), TextPair("", "c", "x")]


def test_no_ids(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.jsonl", '{"ref": "a", "hyp": "b"}\n{"ref": "c", "hyp": "d"}')
    assert [q.id for q in read_pairs_jsonl(p)] == [None, None]


def test_unicode_line_separator_inside_json_string_keeps_line_numbers(tmp_path: Path) -> None:
    p = _write(tmp_path, "p.jsonl", '{"ref": "a\u2028b", "hyp": "b"}\n{"ref": 1, "hyp": "d"}\n')
    with pytest.raises(InputError, match=r"p.jsonl: line 2: expected \"ref\" to be a string"):
        read_pairs_jsonl(p)


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ('{"ref": "a", "hyp": "b"}\n{"ref": "a", "hyp": \n', 2, "a JSON object"),
        ('[1, 2]\n', 1, 'a JSON object with "ref" and "hyp"'),
        ('"just a string"\n', 1, "a JSON object"),
        ('{"hyp": "b"}\n', 1, 'a "ref" field'),
        ('{"ref": "b"}\n', 1, 'a "hyp" field'),
        ('{"ref": null, "hyp": "b"}\n', 1, '"ref" to be a string'),
        ('{"ref": "a", "hyp": ["b"]}\n', 1, '"hyp" to be a string'),
        ('{"id": "u", "ref": "a", "hyp": "b"}\n\n{"id": "u", "ref": "a", "hyp": "b"}\n', 3, "a unique id"),
        ('{"id": "u", "ref": "a", "hyp": "b"}\n{"ref": "a", "hyp": "b"}\n', 2, 'an "id"'),
        ('{"ref": "a", "hyp": "b"}\n{"id": "u", "ref": "a", "hyp": "b"}\n', 2, 'no "id"'),
        ('{"id": true, "ref": "a", "hyp": "b"}\n', 1, '"id" to be a string or an integer'),
    ],
)
def test_bad_jsonl(tmp_path: Path, text: str, line: int, expected: str) -> None:
    p = _write(tmp_path, "bad.jsonl", text)
    with pytest.raises(InputError) as info:
        read_pairs_jsonl(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}: line {line}: expected ")
    assert expected in msg
    assert "\n" not in msg


def test_invalid_utf8(tmp_path: Path) -> None:
    p = _write(tmp_path, "bad.jsonl", b'{"ref": "a", "hyp": "b"}\n{"ref": "\xff", "hyp": "b"}\n')
    with pytest.raises(InputError, match="line 2: expected UTF-8 text"):
        read_pairs_jsonl(p)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    p = _write(tmp_path, "empty.jsonl", text)
    with pytest.raises(InputError, match="empty.jsonl: expected at least one"):
        read_pairs_jsonl(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_pairs_jsonl(tmp_path / "nope.jsonl")


def test_kaldi_text(tmp_path: Path) -> None:
    p = _write(tmp_path, "text", "utt1  hello   world\nutt2\n\nutt3\tTAB\tsep  \n")
    assert read_kaldi_text(p) == {"utt1": "hello world", "utt2": "", "utt3": "TAB sep"}


def test_kaldi_duplicate_and_empty(tmp_path: Path) -> None:
    p = _write(tmp_path, "text", "u1 a\nu2 b\nu1 c\n")
    with pytest.raises(InputError, match=r"text: line 3: expected a unique utterance id \(also on line 1\), got 'u1'"):
        read_kaldi_text(p)
    with pytest.raises(InputError, match="expected at least one"):
        read_kaldi_text(_write(tmp_path, "empty", "\n"))


def test_join_kaldi(tmp_path: Path) -> None:
    ref = _write(tmp_path, "ref.txt", "u1 a b\nu2 c d\nu3 e\n")
    hyp = _write(tmp_path, "hyp.txt", "u3 e\nu1 a x\nu2\n")
    assert join_kaldi(ref, hyp) == [TextPair("a b", "a x", "u1"), TextPair("c d", "", "u2"), TextPair("e", "e", "u3")]


def test_join_kaldi_mismatched_ids(tmp_path: Path) -> None:
    ref = _write(tmp_path, "ref.txt", "".join(f"r{i} w\n" for i in range(8)) + "both w\n")
    hyp = _write(tmp_path, "hyp.txt", "both w\nh1 w\n")
    with pytest.raises(InputError) as info:
        join_kaldi(ref, hyp)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{hyp}: expected the same utterance ids as {ref}")
    assert f"8 id(s) only in {ref} (r0, r1, r2, r3, r4, ...)" in msg
    assert f"1 id(s) only in {hyp} (h1)" in msg


def test_roundtrip_many_lines(tmp_path: Path) -> None:
    rows = [{"id": f"u{i}", "ref": f"r {i}", "hyp": f"h {i}"} for i in range(100)]
    p = _write(tmp_path, "p.jsonl", "\n".join(json.dumps(r) for r in rows))
    assert [q.id for q in read_pairs_jsonl(p)] == [r["id"] for r in rows]


def test_byte_order_mark_on_reference_files(refdata: Path, tmp_path: Path) -> None:
    clean = refdata / "wer" / "pairs.jsonl"
    bom = _write(tmp_path, "bom.jsonl", b"\xef\xbb\xbf" + clean.read_bytes())
    assert read_pairs_jsonl(bom) == read_pairs_jsonl(clean)
    pairs = read_pairs_jsonl(clean)
    kaldi = "".join(f"{p.id} {p.ref}\n" for p in pairs).encode()
    ref_clean = _write(tmp_path, "ref", kaldi)
    ref_bom = _write(tmp_path, "ref_bom", b"\xef\xbb\xbf" + kaldi)
    assert read_kaldi_text(ref_bom) == read_kaldi_text(ref_clean)
    assert list(read_kaldi_text(ref_bom))[0] == pairs[0].id
    assert join_kaldi(ref_bom, ref_clean) == join_kaldi(ref_clean, ref_clean)


def test_bare_carriage_return_would_merge_lines(tmp_path: Path) -> None:
    p = _write(tmp_path, "text", b"u1 a b\ru2 c\nu3 d\n")
    with pytest.raises(InputError, match=r"text: line 1: expected lines ending in \\n or \\r\\n"):
        read_kaldi_text(p)


def test_crlf_kaldi(tmp_path: Path) -> None:
    p = _write(tmp_path, "text", b"u1 a b \r\nu2\r\n\r\n")
    assert read_kaldi_text(p) == {"u1": "a b", "u2": ""}


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes, binary: bool = True) -> None:
    import io
    import sys

    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8") if binary else io.StringIO(data.decode())
    monkeypatch.setattr(sys, "stdin", stream)


@pytest.mark.parametrize("binary", [True, False])
def test_pairs_from_stdin(monkeypatch: pytest.MonkeyPatch, refdata: Path, binary: bool) -> None:
    clean = refdata / "wer" / "pairs.jsonl"
    _stdin(monkeypatch, b"\xef\xbb\xbf" + clean.read_bytes(), binary)
    assert read_pairs_jsonl("-") == read_pairs_jsonl(clean)


def test_stdin_errors_are_named_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, b'{"ref": "a", "hyp": "b"}\n{"ref": 3, "hyp": "b"}\n')
    with pytest.raises(InputError, match=r'^<stdin>: line 2: expected "ref" to be a string'):
        read_pairs_jsonl("-")
    _stdin(monkeypatch, b"u1 a\n\xff\n")
    with pytest.raises(InputError, match=r"^<stdin>: line 2: expected UTF-8 text, got 'byte 0xff at byte offset 5'"):
        read_kaldi_text("-")
    _stdin(monkeypatch, b"")
    with pytest.raises(InputError, match=r"^<stdin>: expected at least one"):
        read_kaldi_text("-")


def test_kaldi_join_with_stdin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ref = _write(tmp_path, "ref.txt", "u1 a b\nu2 c\n")
    _stdin(monkeypatch, b"u2 c\nu1 a x\n")
    assert join_kaldi(ref, "-") == [TextPair("a b", "a x", "u1"), TextPair("c", "c", "u2")]
    _stdin(monkeypatch, b"u1 a\n")
    with pytest.raises(InputError, match=r"^<stdin>: expected the same utterance ids as .*ref.txt; 1 id\(s\) only in"):
        join_kaldi(ref, "-")
    _stdin(monkeypatch, b"u1 a\n")
    with pytest.raises(InputError) as info:
        join_kaldi("-", "-")
    assert str(info.value) == "<stdin>: expected at most one input read from standard input ('-' given 2 times)"
