"""The course catalogue: every notebook in order, with what it is about.

This is the one place that describes the notebooks: notebook 00 shows it, and
``tools/run_notebooks.py`` renders it (with measured runtime and RAM) into the README.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NotebookMeta:
    """What the README says about a notebook; runtime and RAM come from ``make bench``.

    ``datasets`` are names in :data:`course_lib.data.REGISTRY` (for the licences table). A notebook
    whose file does not exist yet in ``notebooks/`` is listed as *coming*.
    """

    stem: str
    title: str
    domain: str
    architecture: str
    dataset: str
    baseline: str
    datasets: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"notebooks/{self.stem}.ipynb"


NOTEBOOKS: tuple[NotebookMeta, ...] = (
    NotebookMeta("00_welcome", "Welcome: how the course works", "orientation", "—", "—", "—"),
    NotebookMeta("01_foundations", "Foundations: an MLP against classical models", "medical (tabular)",
                 "MLP", "Breast Cancer Wisconsin", "logistic regression, random forest",
                 ("breast_cancer",)),
    NotebookMeta("02_cnn_medical_imaging", "CNNs for chest X-rays", "medical imaging", "CNN",
                 "MedMNIST PneumoniaMNIST", "majority class, logistic regression, HOG + linear SVM",
                 ("pneumoniamnist",)),
    NotebookMeta("03_lstm_finance", "LSTMs for market volatility", "finance (time series)",
                 "LSTM, GRU", "S&P 500 daily 1999–2018",
                 "naive, EWMA, GARCH(1,1), HAR, gradient boosting", ("sp500",)),
    NotebookMeta("04_transformers_sentiment", "Transformers for sentiment", "text", "Transformer",
                 "GLUE SST-2", "TF-IDF + logistic regression", ("sst2",)),
    # Planned: listed as "coming" until their files exist; baselines are named when they are written.
    NotebookMeta("05_gnn_molecules", "Graph networks for molecules", "chemistry (molecules)",
                 "GCN, GINE, GINE + descriptors", "MoleculeNet ESOL",
                 "random forest on ECFP4 fingerprints / RDKit descriptors", ("esol",)),
)
