"""Answer extraction: a model's raw text -> :class:`~gapbench.core.predictions.Choice`.

This is the task's ``extract:`` step (the response cache keeps the raw text, so a better rule can
re-score without calling the model). Rules, in order; the first that applies decides:

1. the whole answer is one label, optionally bracketed or followed by ``.``/``:``/``)``
   (``B``, ``(b)``, ``B.``, ``[C]``) -- lower case is accepted only here and when bracketed;
2. an explicit statement: ``answer is C``, ``answer: (C)``, ``option C`` (the last such statement);
3. exactly one distinct upper-case label standing alone (``I pick C because...``).

Anything else -- no label, or several distinct labels (``A or B``) -- is unparseable:
``Choice(label="")``, which the metric counts as wrong and reports as ``unparseable``. Never a
random guess.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from gapbench.core.predictions import Choice


def make_extractor(labels: str = "ABCD") -> Callable[[str], Choice]:
    """The extraction function for options labelled by the letters of ``labels``."""
    ls = re.escape(labels)
    whole = re.compile(rf"^\s*[\(\[\{{]?\s*([{ls}])\s*[\)\]\}}]?\s*[.:)]?\s*$", re.IGNORECASE)
    stated = re.compile(rf"\b(?:answer|option|choice)\s*(?:is|would be|:)?\s*[\(\[]?([{ls}])\b[\)\]]?",
                        re.IGNORECASE)
    bracketed = re.compile(rf"[\(\[]([{ls}])[\)\]]", re.IGNORECASE)
    alone = re.compile(rf"(?<![\w'’-])([{labels}])(?![\w'’-])")

    def extract(text: str) -> Choice:
        raw = text if isinstance(text, str) else str(text)
        m = whole.match(raw)
        if m:
            return Choice(m.group(1).upper(), raw)
        found = stated.findall(raw)
        if found:
            return Choice(found[-1].upper(), raw)
        cands = {x.upper() for x in bracketed.findall(raw)} | set(alone.findall(raw))
        if len(cands) == 1:
            return Choice(cands.pop(), raw)
        return Choice("", raw)

    return extract
