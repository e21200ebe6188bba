"""RTTM / UEM parsing: the shared reference files load like pyannote.database, bad lines fail
with the file and line number."""

from __future__ import annotations

from pathlib import Path

import pytest

from gapbench.data.rttm import Turn, read_rttm, read_uem
from gapbench.errors import InputError

LINE = "SPEAKER f1 1 {start} {dur} <NA> <NA> {spk} <NA> <NA>"


def _write(tmp_path: Path, text: str, name: str = "x.rttm") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "case", ["dscore_file1", "pyannote_toy", "ami_test4_synth", "quirk_hyp_self_overlap"]
)
def test_reference_files_match_pyannote_database(refdata: Path, case: str) -> None:
    from pyannote.database.util import load_rttm, load_uem

    for name in ("ref.rttm", "hyp.rttm"):
        ours = read_rttm(refdata / "der" / case / name)
        theirs = load_rttm(refdata / "der" / case / name)
        assert set(ours) == set(theirs)
        for uri, ann in theirs.items():
            expected = sorted((s.start, s.end, lab) for s, _, lab in ann.itertracks(yield_label=True))
            got = sorted((t.start, t.end, t.speaker) for t in ours[uri] if t.end > t.start)
            assert [(round(a, 6), round(b, 6), c) for a, b, c in got] == [
                (round(a, 6), round(b, 6), c) for a, b, c in expected
            ]
    uem = read_uem(refdata / "der" / case / "all.uem")
    ref_uem = load_uem(refdata / "der" / case / "all.uem")
    assert {u: [(s.start, s.end) for s in tl] for u, tl in ref_uem.items()} == uem


def test_comments_blank_other_types_and_lenient_field_count(tmp_path: Path) -> None:
    text = "\n".join(
        [
            ";; a NIST comment",
            "",
            "SPKR-INFO f1 1 <NA> <NA> <NA> unknown A <NA> <NA>",
            "SPEAKER f1 1 0.5 1.25 <NA> <NA> A <NA> <NA>",
            "SPEAKER f1 1 2.0 1.0 <NA> <NA> B <NA>",  # 9 fields: unambiguous
            "SPEAKER f2 0 3 0 <NA> <NA> spk:1/é <NA> <NA>",  # zero duration, odd name
            "   SPEAKER   f1 1 4 1 <NA> <NA> A <NA> <NA> 0.9  ",  # 11 fields, extra spaces
        ]
    )
    turns = read_rttm(_write(tmp_path, text))
    assert turns["f1"] == [Turn(0.5, 1.75, "A", 4), Turn(2.0, 3.0, "B", 5), Turn(4.0, 5.0, "A", 7)]
    assert turns["f2"] == [Turn(3.0, 3.0, "spk:1/é", 6)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("SPEAKER f1 1 0.0 1.0 <NA> <NA>", "10 fields"),
        ("SPEAKER f1 1 abc 1.0 <NA> <NA> A <NA> <NA>", "a number for start"),
        ("SPEAKER f1 1 0.0 -1.0 <NA> <NA> A <NA> <NA>", "a non-negative duration"),
        ("SPEAKER f1 1 -2.0 1.0 <NA> <NA> A <NA> <NA>", "a non-negative start"),
        ("SPEAKER f1 1 nan 1.0 <NA> <NA> A <NA> <NA>", "a finite number"),
    ],
)
def test_bad_rttm_lines_name_file_and_line(tmp_path: Path, line: str, expected: str) -> None:
    p = _write(tmp_path, LINE.format(start=0, dur=1, spk="A") + "\n" + line + "\n")
    with pytest.raises(InputError) as err:
        read_rttm(p)
    msg = err.value.one_line()
    assert msg.startswith(f"{p}: line 2: expected ")
    assert expected in msg
    assert "\n" not in msg


def test_bad_uem_lines(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"line 1: expected 'file chan start end'"):
        read_uem(_write(tmp_path, "f1 1 0.0\n", "a.uem"))
    with pytest.raises(InputError, match=r"line 2: expected end >= start"):
        read_uem(_write(tmp_path, "f1 1 0 5\nf1 1 9 3\n", "b.uem"))
    assert read_uem(_write(tmp_path, "f1 1 0 5\nf1 1 7 9\n;; c\n", "c.uem")) == {
        "f1": [(0.0, 5.0), (7.0, 9.0)]
    }


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "bin.rttm"
    p.write_bytes(b"SPEAKER f \xff\xfe 0 1 <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(InputError, match="UTF-8"):
        read_rttm(p)
