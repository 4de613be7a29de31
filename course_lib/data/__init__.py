"""Datasets: the registry, cached/mirrored/checksummed loading and provenance.

>>> from course_lib.data import load_dataset
>>> cancer = load_dataset("breast_cancer")
>>> cancer.provenance
'bundled'

Your own file (provenance ``local``): ``load_local(path, kind, ...)`` with a kind from
``LOCAL_KINDS`` (see :mod:`course_lib.data.local`).
"""

from course_lib.data.loading import DataUnavailableError, LoadedDataset, dataset_status, load_dataset
from course_lib.data.local import LOCAL_KINDS, as_demonstration, file_checksum, load_local
from course_lib.data.readers import DataValidationError
from course_lib.data.registry import (
    LOCAL,
    PROVENANCES,
    SYNTHETIC,
    REGISTRY,
    DataFile,
    DatasetInfo,
    Fallback,
    dataset_names,
    get_dataset_info,
    is_real_provenance,
)

__all__ = [
    "LOCAL",
    "LOCAL_KINDS",
    "PROVENANCES",
    "SYNTHETIC",
    "REGISTRY",
    "as_demonstration",
    "file_checksum",
    "DataFile",
    "DataUnavailableError",
    "DataValidationError",
    "DatasetInfo",
    "Fallback",
    "LoadedDataset",
    "dataset_names",
    "dataset_status",
    "get_dataset_info",
    "is_real_provenance",
    "load_dataset",
    "load_local",
]
