"""Rules every notebook's ledger keeps, whatever its data: each model scored on the test split once,
and the verdicts it printed stored as computed (a sentence that its own numbers reproduce).

Reads ``results/<notebook>.json`` for every notebook of the catalogue (whose file exists) that uses a dataset.
"""

import math

import pytest

from course_lib.catalogue import available, notebook_meta
from course_lib.data import is_real_provenance
from course_lib.verdicts import Verdict

pytestmark = pytest.mark.ledger

STEMS = [meta.stem for meta in available() if meta.datasets]


@pytest.mark.parametrize("stem", STEMS)
def test_every_model_was_scored_on_the_test_split_exactly_once(stem, ledger_of):
    models = ledger_of(stem)["models"]
    assert models, f"{stem} recorded no model"
    for name, entry in models.items():
        assert entry.get("test_evaluations") == 1, (
            f"{stem}/{name}: scored {entry.get('test_evaluations')} times on the {entry.get('split')} split")
        assert isinstance(entry["split"], str) and entry["split"]


@pytest.mark.parametrize("stem", STEMS)
def test_verdicts_are_stored_as_computed(stem, ledger_of):
    verdicts = ledger_of(stem)["verdicts"]
    assert verdicts, f"{stem} printed no computed verdict"
    for stored in verdicts:
        fields = {key: value for key, value in stored.items() if key != "sentence"}
        verdict = Verdict(**fields)
        assert verdict.sentence == stored["sentence"], "a stored sentence does not match its own numbers"
        assert math.isfinite(verdict.low) and verdict.low <= verdict.high
        if verdict.low <= 0 <= verdict.high:
            assert verdict.winner is None, f"{verdict.sentence}: the interval contains 0 but a winner is named"
        else:
            assert verdict.winner in (verdict.model_a, verdict.model_b)


@pytest.mark.parametrize("stem", STEMS)
def test_every_entry_says_which_data_it_was_measured_on(stem, ledger_of):
    """The data fields come from the LoadedDataset the notebook loaded: a dataset the catalogue lists
    for the notebook, its provenance and source, and whether it is a stand-in or synthetic."""
    meta = notebook_meta(stem)
    for name, entry in ledger_of(stem)["models"].items():
        if entry["provenance"] == "local" and entry["dataset"] not in meta.datasets:
            # a learner's own file (course_lib.data.load_local): named after the file, traced by its bytes
            assert len(entry.get("checksum", "")) == 64, f"{stem}/{name}: a local file without its sha256"
        else:
            assert entry["dataset"] in meta.datasets, \
                f"{stem}/{name}: dataset {entry['dataset']!r} not in the catalogue row"
        assert isinstance(entry["stand_in"], bool) and isinstance(entry["real"], bool), f"{stem}/{name}"
        assert entry["real"] == is_real_provenance(entry["provenance"]), f"{stem}/{name}: real flag disagrees"
        assert entry["stand_in"] or entry["real"], f"{stem}/{name}: synthetic data not marked as a stand-in"
        assert isinstance(entry["source"], str) and entry["source"], f"{stem}/{name}: no source"
