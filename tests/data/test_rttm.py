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
        ("SPEAKER f1 1 abc 1.0 <NA> <NA> A <NA> <NA>", "a number for start (field 4) (plain decimal like 12, 0.5, 1e-3; no '_', nan or inf), got 'abc'"),
        ("SPEAKER f1 1 1_0 1.0 <NA> <NA> A <NA> <NA>", "a number for start (field 4) (plain decimal like 12, 0.5, 1e-3; no '_', nan or inf), got '1_0'"),
        ("SPEAKER f1 1 0 1_5 <NA> <NA> A <NA> <NA>", "a number for duration (field 5) (plain decimal like 12, 0.5, 1e-3; no '_', nan or inf), got '1_5'"),
        ("SPEAKER f1 1 0 inf <NA> <NA> A <NA> <NA>", "for duration (field 5) (plain decimal like 12, 0.5, 1e-3; no '_', nan or inf), got 'inf'"),
        ("SPEAKER f1 1 0 1e999 <NA> <NA> A <NA> <NA>", "for duration (field 5) (plain decimal like 12, 0.5, 1e-3; no '_', nan or inf), got '1e999'"),
        ("SPEAKER f1 1 0 0x1p0 <NA> <NA> A <NA> <NA>", "for duration (field 5) (plain decimal like 12, 0.5, 1e-3; no '_', nan or inf), got '0x1p0'"),
        ("SPEAKER f1 1 \u0663 1 <NA> <NA> A <NA> <NA>", "for start (field 4) (plain decimal like 12, 0.5, 1e-3; no '_', nan or inf), got '\u0663'"),  # Arabic-Indic 3
        ("SPEAKER f1 1 0 1 <NA> <NA> A <NA> <NA>\rSPEAKER f1 1 5 1 <NA> <NA> B <NA> <NA>", "a bare \\r"),
        ("speaker f1 1 0 1 <NA> <NA> A <NA> <NA>", "an RTTM type such as SPEAKER"),
        ("SPEAKR f1 1 0 1 <NA> <NA> A <NA> <NA>", "got 'SPEAKR'"),
        ("SPEAKER f1 1 0.0 -1.0 <NA> <NA> A <NA> <NA>", "a non-negative duration"),
        ("SPEAKER f1 1 -2.0 1.0 <NA> <NA> A <NA> <NA>", "a non-negative start"),
        ("SPEAKER f1 1 nan 1.0 <NA> <NA> A <NA> <NA>", "a number for start (field 4)"),
    ],
)
def test_bad_rttm_lines_name_file_and_line(tmp_path: Path, line: str, expected: str) -> None:
    p = tmp_path / "x.rttm"
    p.write_bytes((LINE.format(start=0, dur=1, spk="A") + "\n" + line + "\n").encode())
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


def test_non_utf8_file_names_line_and_byte_offset(tmp_path: Path) -> None:
    p = tmp_path / "bin.rttm"
    p.write_bytes(b"SPEAKER f 1 0 1 <NA> <NA> A <NA> <NA>\nSPEAKER f \xff\xfe 0 1 <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(InputError) as err:
        read_rttm(p)
    assert str(err.value) == f"{p}: line 2: expected UTF-8 text, got 'byte 0xff at byte offset 48'"
    u = tmp_path / "bin.uem"
    u.write_bytes(b"\xef\xbb\xbff1 1 0 \xe9\n")
    with pytest.raises(InputError, match=r"bin\.uem: line 1: expected UTF-8 text, got 'byte 0xe9 at byte offset 10'"):
        read_uem(u)


def test_plain_decimal_numbers_are_read(tmp_path: Path) -> None:
    text = "SPEAKER f1 1 .5 1. <NA> <NA> A <NA> <NA>\nSPEAKER f1 1 +2 1E-1 <NA> <NA> A <NA> <NA>\n"
    assert read_rttm(_write(tmp_path, text)) == {"f1": [Turn(0.5, 1.5, "A", 1), Turn(2.0, 2.1, "A", 2)]}
    with pytest.raises(InputError, match=r"u\.uem: line 1: expected a number for end \(field 4\) \(plain decimal.*, got '1_0'"):
        read_uem(_write(tmp_path, "f1 1 0 1_0\n", "u.uem"))


def test_crlf_line_endings(tmp_path: Path, refdata: Path) -> None:
    clean = refdata / "der" / "dscore_file1" / "ref.rttm"
    crlf = tmp_path / "crlf.rttm"
    crlf.write_bytes(clean.read_bytes().replace(b"\n", b"\r\n"))
    assert read_rttm(crlf) == read_rttm(clean)


CASES = ["dscore_file1", "pyannote_toy", "ami_test4_synth", "quirk_hyp_self_overlap", "ami_es2005a_variants"]


@pytest.mark.parametrize("case", CASES)
def test_byte_order_mark_is_ignored(refdata: Path, tmp_path: Path, case: str) -> None:
    """A BOM once made the first turn vanish (DER 0.168831 instead of pyannote's 0.168601)."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.database.util import load_rttm, load_uem
    from pyannote.metrics.diarization import DiarizationErrorRate

    src = refdata / "der" / case
    bom = {}
    for name in ("ref.rttm", "hyp.rttm", "all.uem"):
        bom[name] = tmp_path / name
        bom[name].write_bytes(b"\xef\xbb\xbf" + (src / name).read_bytes())
    assert read_rttm(bom["ref.rttm"]) == read_rttm(src / "ref.rttm")
    assert read_rttm(bom["hyp.rttm"]) == read_rttm(src / "hyp.rttm")
    assert read_uem(bom["all.uem"]) == read_uem(src / "all.uem")

    def annotation(uri: str, turns: list[Turn]) -> Annotation:
        ann = Annotation(uri=uri)
        for t in turns:
            if t.end > t.start:
                ann[Segment(t.start, t.end), t.line] = t.speaker
        return ann

    ref, hyp, uem = read_rttm(bom["ref.rttm"]), read_rttm(bom["hyp.rttm"]), read_uem(bom["all.uem"])
    ours, theirs = DiarizationErrorRate(), DiarizationErrorRate()
    clean_ref, clean_hyp = load_rttm(src / "ref.rttm"), load_rttm(src / "hyp.rttm")
    clean_uem = load_uem(src / "all.uem")
    for uri in clean_ref:
        ours(annotation(uri, ref[uri]), annotation(uri, hyp.get(uri, [])),
             uem=Timeline([Segment(s, e) for s, e in uem[uri]]))
        theirs(clean_ref[uri], clean_hyp.get(uri, Annotation(uri=uri)), uem=clean_uem[uri])
    assert abs(ours) == pytest.approx(abs(theirs), abs=1e-12)
