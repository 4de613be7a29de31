"""No notebook text asserts an outcome the run could contradict.

Markdown explains methods; which model is better is printed only from a computed verdict
(:mod:`course_lib.verdicts`). This test reads every notebook's markdown cells and the literal parts of
the strings in its code cells (f-string placeholders become ``{}``) and fails on phrases that state a
result: a model named as the subject of "wins"/"beats"/"is better than", or stock conclusions that
earlier versions printed whatever the numbers were.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from course_lib import catalogue
from course_lib.environment import repository_root

ROOT = repository_root()
NOTEBOOKS = [ROOT / meta.path for meta in catalogue.available(ROOT)]  # the catalogue's notebooks that exist

MODEL = (r"(MLP|CNN|LSTM|GRU|transformer|MiniLM|GNN|GCN|GINE|hybrid|logistic regression|random forest|"
         r"HAR|GARCH|EWMA|TF-IDF|naive|gradient boosting|HOG|SVM|majority|network|deep model|classical model)")
OUTCOME = r"(wins|won|beats|beat|outperforms|outperformed|is better than|are better than|is worse than|loses to|lost to)"

#: (pattern, why it is forbidden), searched sentence by sentence, case-insensitive unless the
#: pattern says otherwise. A match is allowed in a conditional ("when/if/whether ... wins"), which
#: describes the method, and a significance word after a ``{}`` placeholder is computed.
FORBIDDEN = [
    (rf"(?i)\b{MODEL}\b[^.!?\n{{}}]{{0,40}}\b{OUTCOME}\b", "names a model as winner or loser"),
    (r"(?i)printed above", "points the reader at output a rendered page does not have"),
    (r"hard to beat", "a conclusion the run may contradict"),  # case-sensitive: a paper is titled "HARd to beat"
    (r"(?i)is the answer to", "a conclusion the run may contradict"),
    (r"(?i)not the advantage", "a conclusion the run may contradict"),
    (r"(?i)different class mix", "a data property the run must compute"),
    (r"R²\s*[≤<>≥]|R\^2\s*[<>]", "a result typed into text"),
    (r"(?i)\b(clearly|significantly)\s+(better|worse|beats?|outperforms?)", "a significance claim typed into text"),
    (r"(?i)fixed in advance", "the recipes were settled after seeing test numbers during development"),
]
CONDITIONAL = re.compile(r"(?i)\b(when|if|whether|whichever|unless)\b")
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n")


def _string_literals(source: str) -> list[str]:
    """Literal text of every string in ``source``: plain strings whole, f-strings with ``{}``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # IPython magics: nothing a reader is told
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            texts.append("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
    # f-string parts are Constants too: drop texts that are part of a longer collected text
    return [t for t in texts if not any(t != other and t in other for other in texts if "{}" in other)]


def _texts(notebook: Path) -> list[tuple[str, str]]:
    cells = json.loads(notebook.read_text())["cells"]
    out = []
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            out.append((f"cell {index} (markdown)", source))
        elif cell["cell_type"] == "code":
            out += [(f"cell {index} (string)", text) for text in _string_literals(source)]
    return out


def violations(texts) -> list[str]:
    found = []
    for where, text in texts:
        for sentence in SENTENCE_END.split(text):
            flat = " ".join(sentence.split())
            for pattern, why in FORBIDDEN:
                for match in re.finditer(pattern, flat):
                    before = flat[:match.start()]
                    if CONDITIONAL.search(before) or "{}" in before:
                        continue
                    found.append(f"{where}: {why}: ...{flat[max(0, match.start() - 30):match.end() + 30]}...")
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_text_asserts_no_outcome(notebook):
    found = violations(_texts(notebook))
    assert not found, "outcome asserted in text, not computed:\n" + "\n".join(found)


@pytest.mark.parametrize("text", [
    "The GRU beats HAR on QLIKE.",
    "that is the answer to 'deep learning needs huge data'",
    "logistic regression is better than the MLP here",
    "Simple models are hard to beat.",
    "the MLP clearly better than LR",
    "as printed above, the CNN wins",
    "out-of-sample R² ≤ 0",
    "Summary. The hybrid GNN wins on the random split.",
])
def test_scanner_catches_typed_conclusions(text):
    assert violations([("probe", text)])


@pytest.mark.parametrize("text", [
    "The verdict below says which model is better, from this run's numbers.",
    "Markdown explains the method; the results section shows what happened.",
    "{} is better than {} by {}",
    "When the classical model wins, the notebook says so.",
    "{} vs {}: significantly better in {}/{} seeds",
    "Bucci, A. (2024). *HARd to beat: the overlooked impact of rolling windows*",
])
def test_scanner_lets_method_text_and_computed_sentences_pass(text):
    assert not violations([("probe", text)])


def test_string_literals_reads_fstrings_with_placeholders():
    source = 'name = "x"\nprint(f"{name} beats HAR by {gap:.3f}")\nprint("plain")'
    texts = _string_literals(source)
    assert "{} beats HAR by {}" in texts and "plain" in texts
