"""The course catalogue: every notebook in order, with what it is about.

:data:`NOTEBOOKS` is the only list of the course's notebooks. Everything else reads it: notebook 00
shows :func:`course_table`, ``make course`` and ``make bench`` run :func:`available` (through
``tools/run_notebooks.py``), the README's notebook table is rendered from it, and the hygiene tests
are parametrised by it. A row whose file does not exist yet in ``notebooks/`` is *coming*: it is
listed in the tables and skipped by every runner. Adding a notebook takes one row here and its file.

    python -m course_lib.catalogue      # the available notebooks' paths, one per line, in order

Every function reads the module-level :data:`NOTEBOOKS` when called (tests monkeypatch it) and takes
``root``, the repository folder (default: :func:`course_lib.environment.repository_root`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from course_lib.environment import repository_root

NOTEBOOK_FOLDER = "notebooks"
COMING = "(coming)"  # the file column of a row whose notebook does not exist yet
_STEM = re.compile(r"^(\d{2})_[a-z0-9_]+$")


@dataclass(frozen=True)
class NotebookMeta:
    """One notebook of the course: what the README and notebook 00 say about it.

    ``stem`` is the file name without ``.ipynb`` (``"01_foundations"``: two digits, ``_``, lower-case
    words). ``datasets`` are names in :data:`course_lib.data.REGISTRY`; the tables show their titles
    and the licences table lists where each is used. Runtime and RAM come from ``make bench``.
    """

    stem: str
    title: str
    domain: str
    architecture: str
    baseline: str
    datasets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.stem, str) or not _STEM.match(self.stem):
            raise ValueError(f"notebook stem must look like '01_foundations' (two digits, '_', "
                             f"lower-case words), got {self.stem!r}")
        if isinstance(self.datasets, str) or not all(isinstance(d, str) for d in self.datasets):
            raise TypeError(f"{self.stem}: datasets must be a tuple of registry names, got {self.datasets!r}")

    @property
    def path(self) -> str:
        """The notebook's path relative to the repository root, e.g. ``notebooks/01_x.ipynb``."""
        return f"{NOTEBOOK_FOLDER}/{self.stem}.ipynb"

    @property
    def number(self) -> str:
        """The two-digit position in the course, e.g. ``"01"``."""
        return self.stem.split("_", 1)[0]

    def exists(self, root: str | os.PathLike | None = None) -> bool:
        """True when the notebook's file is in ``root``'s ``notebooks/`` (else it is *coming*)."""
        return (_root(root) / self.path).is_file()


NOTEBOOKS: tuple[NotebookMeta, ...] = (
    NotebookMeta("00_welcome", "Welcome: how the course works", "orientation", "—", "—"),
    NotebookMeta("01_foundations", "Foundations: an MLP against classical models", "medical (tabular)",
                 "MLP", "logistic regression, random forest", ("breast_cancer",)),
    NotebookMeta("02_cnn_medical_imaging", "CNNs for chest X-rays", "medical imaging", "CNN",
                 "majority class, logistic regression, HOG + linear SVM", ("pneumoniamnist",)),
    NotebookMeta("03_lstm_finance", "LSTMs for market volatility", "finance (time series)",
                 "LSTM, GRU", "naive, EWMA, GARCH(1,1), HAR, gradient boosting", ("sp500",)),
    NotebookMeta("04_transformers_sentiment", "Transformers for sentiment", "text", "Transformer",
                 "TF-IDF + logistic regression", ("sst2",)),
    NotebookMeta("05_gnn_molecules", "Graph networks for molecules", "chemistry (molecules)",
                 "GCN, GINE, GINE + descriptors",
                 "random forest on ECFP4 fingerprints / RDKit descriptors", ("esol",)),
    NotebookMeta("06_autoencoders_gans", "Autoencoders and GANs for chest X-rays", "medical imaging (generative)",
                 "autoencoder, VAE, conditional DCGAN",
                 "PCA; PCA reconstruction, isolation forest, k-NN, one-class SVM; Gaussian mixture on PCA",
                 ("pneumoniamnist",)),
    NotebookMeta("07_small_data", "Deep learning with small data: breast ultrasound", "medical imaging (small data)",
                 "CNN: from scratch, transferred, augmented, with synthetic images",
                 "logistic regression, HOG + SVM", ("breastmnist", "pneumoniamnist")),
    NotebookMeta("08_efficiency", "Deep learning without powerful hardware", "efficiency (imaging, finance, text)",
                 "CNN, LSTM/GRU, MiniLM: int8 (ONNX Runtime), pruned, distilled; DDP across processes",
                 "logistic regression, HOG + SVM, HAR, TF-IDF + logistic regression",
                 ("pneumoniamnist", "sp500", "sst2")),
    NotebookMeta("09_shift_ood", "When deep models fail on images: shift, unfamiliar inputs, explanations tested",
                 "reliability (imaging)",
                 "CNN (plain and augmented) under MedMNIST-C corruptions; MSP, energy, Mahalanobis OOD "
                 "detectors; Grad-CAM and integrated gradients with sanity checks",
                 "logistic regression, HOG + SVM; PCA residual and isolation forest on pixels",
                 ("pneumoniamnist", "breastmnist")),
    NotebookMeta("10_bias_explanations", "Bias across groups, and a transformer's explanations put to the test",
                 "fairness (tabular), explanations (text)",
                 "MLP and gradient boosting per group (fairlearn), threshold optimizer; MiniLM attention "
                 "rollout vs layer integrated gradients",
                 "logistic regression; random token ranking",
                 ("arrests", "sst2")),
    NotebookMeta("11_your_own_data", "Your own data: the course's pipelines on a file from your disk",
                 "all four domains, on your files (molecules, prices, images, sentences)",
                 "GNN classifier (logit head, class-weighted BCE); LSTM volatility; CNN; MiniLM + LR",
                 "random forest on fingerprints; GARCH, HAR, gradient boosting; logistic regression",
                 ("esol", "sp500", "pneumoniamnist", "sst2")),
    NotebookMeta("12_misconceptions", "Capstone: five misconceptions about deep learning, tested",
                 "the whole course (every notebook's results ledger)",
                 "every network of notebooks 01–11, judged from their ledgers",
                 "every classical baseline of notebooks 01–11"),
)


def _root(root: str | os.PathLike | None) -> Path:
    return Path(root) if root is not None else repository_root()


def notebook_meta(stem: str) -> NotebookMeta:
    """The catalogue row of ``stem``; ValueError naming the stem when the catalogue has none."""
    for meta in NOTEBOOKS:
        if meta.stem == stem:
            return meta
    raise ValueError(f"{stem!r} is not in the course catalogue (course_lib/catalogue.py NOTEBOOKS); "
                     f"known: {', '.join(meta.stem for meta in NOTEBOOKS)}")


def available(root: str | os.PathLike | None = None) -> list[NotebookMeta]:
    """The rows whose file exists, in course order: what ``make course`` and ``make bench`` run."""
    return [meta for meta in NOTEBOOKS if meta.exists(root)]


def available_paths(root: str | os.PathLike | None = None) -> list[Path]:
    """The files of :func:`available` (absolute under ``root``), in course order."""
    base = _root(root)
    return [base / meta.path for meta in available(base)]


def unlisted(root: str | os.PathLike | None = None) -> list[Path]:
    """Notebook files in ``root``'s ``notebooks/`` that have no catalogue row (sorted)."""
    stems = {meta.stem for meta in NOTEBOOKS}
    folder = _root(root) / NOTEBOOK_FOLDER
    return sorted(path for path in folder.glob("*.ipynb") if path.stem not in stems)


def dataset_titles(meta: NotebookMeta) -> str:
    """The registry titles of ``meta.datasets``, comma-separated, or ``—`` when it uses none."""
    from course_lib.data import get_dataset_info  # the registry is imported only when needed

    return ", ".join(get_dataset_info(name).title for name in meta.datasets) or "—"


def course_table(root: str | os.PathLike | None = None):
    """The catalogue as a :class:`pandas.DataFrame` indexed by ``#`` (what notebook 00 shows and the
    README's table starts from): notebook, domain, architecture, dataset, classical baseline, file
    (``notebooks/<stem>.ipynb``, or :data:`COMING` while the file does not exist)."""
    import pandas as pd

    rows = [{"#": meta.number, "notebook": meta.title, "domain": meta.domain,
             "architecture": meta.architecture, "dataset": dataset_titles(meta),
             "classical baseline": meta.baseline or "—",
             "file": meta.path if meta.exists(root) else COMING}
            for meta in NOTEBOOKS]
    columns = ["#", "notebook", "domain", "architecture", "dataset", "classical baseline", "file"]
    return pd.DataFrame(rows, columns=columns).set_index("#")


def main() -> int:
    for meta in available():
        print(meta.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
