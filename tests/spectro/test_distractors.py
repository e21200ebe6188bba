from __future__ import annotations

from collections import Counter

import pytest

from gapbench.spectro.distractors import (
    OptionSet,
    arrange,
    assign_split,
    centrality_pick,
    is_inflection,
    option_sets,
)
from gapbench.spectro.phonemes import distance_matrix, levenshtein, segments
from gapbench.spectro.words import candidate_words


@pytest.fixture(scope="module")
def vocab() -> tuple[list[str], dict]:
    words = candidate_words(3000)
    return words, {w: segments(w) for w in words}


def test_inflections() -> None:
    for a, b in [("walk", "walked"), ("walk", "walking"), ("city", "cities"), ("run", "running"),
                 ("make", "making"), ("fast", "faster"), ("quick", "quickly"), ("cat", "cats")]:
        assert is_inflection(a, b) and is_inflection(b, a)
    for a, b in [("cat", "bat"), ("sing", "song"), ("ring", "bring")]:
        assert not is_inflection(a, b)


def test_distractors_are_the_nearest_allowed_by_ped(vocab) -> None:
    words, seg = vocab
    items = words[:60]
    sets = option_sets(items, words, seg, seed=0)
    for target, s in zip(items, sets):
        assert s is not None and s.words[0] == target and len(set(s.words)) == 4
        d = [levenshtein(seg[target], seg[w]) for w in s.words[1:]]
        assert all(x > 0 for x in d)  # no homophone
        assert not any(is_inflection(target, w) for w in s.words[1:])
        # every allowed candidate nearer than the farthest chosen distractor was chosen (brute force over
        # the vocabulary; distance_matrix is checked against the textbook recurrence in test_phonemes)
        row = distance_matrix([seg[target]], [seg[w] for w in words])[0]
        for w, dist in zip(words, row):
            if dist >= max(d) or dist == 0 or w in s.words:
                continue
            assert any(is_inflection(w, c) or levenshtein(seg[w], seg[c]) == 0 for c in s.words), (target, w)


def test_seed_only_breaks_ties(vocab) -> None:
    words, seg = vocab
    a = option_sets(words[:30], words, seg, seed=0)
    b = option_sets(words[:30], words, seg, seed=1)
    for x, y in zip(a, b):
        dx = sorted(levenshtein(x.segments[0], s) for s in x.segments[1:])
        dy = sorted(levenshtein(y.segments[0], s) for s in y.segments[1:])
        assert dx == dy
    assert option_sets(words[:30], words, seg, seed=0) == a


def test_splits_and_arrangement() -> None:
    splits = Counter(assign_split(w, 0) for w in candidate_words(3000))
    total = sum(splits.values())
    assert 0.75 < splits["train"] / total < 0.85 and splits["dev"] > 0 and splits["test"] > 0
    s = OptionSet("cat", ("cat", "bat", "cut", "cap"), (("k", "æ", "t"),) * 4)
    assert arrange(s, "paper", 0)[0] == 0
    targets = Counter(arrange(OptionSet(f"w{i}", s.words, s.segments), "debiased", 0)[0] for i in range(400))
    assert set(targets) == {0, 1, 2, 3} and min(targets.values()) > 60  # uniform-ish over members
    with pytest.raises(ValueError, match="design"):
        arrange(s, "fancy", 0)


def test_centrality_rule() -> None:
    # 'cat' is one edit from each of the others, which are two apart from one another
    segs = [segments("bat"), segments("cat"), segments("cut"), segments("cap")]
    assert centrality_pick(segs) == 1
