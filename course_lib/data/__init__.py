"""Datasets: the registry, cached/mirrored/checksummed loading and provenance.

>>> from course_lib.data import load_dataset
>>> cancer = load_dataset("breast_cancer")
>>> cancer.provenance
'bundled'
"""

from course_lib.data.loading import DataUnavailableError, LoadedDataset, dataset_status, load_dataset
from course_lib.data.readers import DataValidationError
from course_lib.data.registry import (
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
    "PROVENANCES",
    "SYNTHETIC",
    "REGISTRY",
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
]
