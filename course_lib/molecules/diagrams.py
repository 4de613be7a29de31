"""The architecture figure of notebook 05: one message-passing layer on a small molecular graph.

:func:`message_passing_figure` draws three panels from a molecule (RDKit ``Mol`` or SMILES) laid out
with RDKit's 2-D coordinates:

1. **messages** — every bond carries a message in both directions (one arrow per directed edge,
   the two directions curved to opposite sides);
2. **aggregation** — the messages arriving at one atom (the *receiver*) are summed into ``m``;
   with node features given, the sum is written out with its numbers;
3. **update** — ``h`` and ``m`` of the receiver go through the same small network for every atom and
   give the new vector ``h'``.

Everything is matplotlib (no image files); the figure renders the same in JupyterLab, on Colab and in
a static HTML export.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from rdkit import Chem
from rdkit.Chem import rdDepictor

from course_lib.molecules.featurize import parse_smiles

_RADIUS = 0.26            # node radius in bond lengths
_COLOURS = {"C": "#d9d9d9", "O": "#f4a6a6", "N": "#a6c8f4", "S": "#f4e3a6"}
_ACCENT, _FAINT = "#c0392b", "#b0b0b0"


def _molecule(mol: Chem.Mol | str) -> Chem.Mol:
    if isinstance(mol, str):
        parsed = parse_smiles(mol)
        if parsed is None:
            raise ValueError(f"not a valid SMILES: {mol!r}")
        mol = parsed
    if not isinstance(mol, Chem.Mol) or mol.GetNumAtoms() < 2 or mol.GetNumBonds() < 1:
        raise ValueError("message_passing_figure needs a molecule with at least two atoms and one bond")
    return mol


def _layout(mol: Chem.Mol) -> np.ndarray:
    """RDKit's 2-D depiction coordinates, centred, bonds 1.6 long (room for the arrows): shape (n_atoms, 2)."""
    mol = Chem.Mol(mol)
    rdDepictor.Compute2DCoords(mol)
    xy = mol.GetConformer().GetPositions()[:, :2]
    bond = np.mean([np.linalg.norm(xy[b.GetBeginAtomIdx()] - xy[b.GetEndAtomIdx()]) for b in mol.GetBonds()])
    return 1.6 * (xy - xy.mean(0)) / bond


def _vector(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{float(v):g}" for v in values) + "]"


def _arrow(ax: plt.Axes, start: np.ndarray, end: np.ndarray, colour: str, width: float = 1.4) -> None:
    direction = (end - start) / np.linalg.norm(end - start)
    ax.add_patch(FancyArrowPatch(tuple(start + direction * _RADIUS * 1.1), tuple(end - direction * _RADIUS * 1.1),
                                 arrowstyle="-|>", mutation_scale=13, color=colour, lw=width,
                                 connectionstyle="arc3,rad=0.25", shrinkA=0, shrinkB=0, zorder=2))


def _nodes(ax: plt.Axes, xy: np.ndarray, labels: list[str], symbols: list[str], highlight: int | None,
           features: np.ndarray | None, neighbours: list[list[int]]) -> None:
    for i, (point, label) in enumerate(zip(xy, labels)):
        edge = _ACCENT if i == highlight else "0.25"
        ax.add_patch(Circle(tuple(point), _RADIUS, facecolor=_COLOURS.get(symbols[i], "#e0d0f0"), edgecolor=edge,
                            lw=2.2 if i == highlight else 1.2, zorder=3))
        ax.text(*point, label, ha="center", va="center", fontsize=10, fontweight="bold", zorder=4)
        if features is not None:                        # the vector on the side away from the bonds
            away = point - xy[neighbours[i]].mean(0) if neighbours[i] else np.array([0.0, -1.0])
            away = away / np.linalg.norm(away) if np.linalg.norm(away) > 0.3 else np.array([0.0, -1.0])
            ax.text(*(point + away * (_RADIUS + 0.45)), f"h{i} = {_vector(features[i])}", ha="center", va="center",
                    fontsize=8, color="0.2", zorder=4)


def _frame(ax: plt.Axes, xy: np.ndarray, title: str) -> None:
    low, high = xy.min(0) - 1.0, xy.max(0) + 1.0
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1] - 1.2, high[1])
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)


def message_passing_figure(mol: Chem.Mol | str, features: np.ndarray | Sequence[Sequence[float]] | None = None,
                           receiver: int | None = None, figsize: tuple[float, float] = (13, 4.2)) -> Figure:
    """Draw one message-passing layer on ``mol``: messages, sum aggregation at one atom, update.

    Args:
        mol: an RDKit molecule or a SMILES string with at least one bond (heavy atoms only are drawn).
        features: optional node features ``h``, shape (n_atoms, F) with small F (written under each
            atom; the aggregation panel then writes out the sum with its numbers).
        receiver: index of the atom whose aggregation and update are shown; default the atom with
            the most neighbours (the first one on a tie).
        figsize: the figure's size in inches.

    Returns:
        The matplotlib Figure (three axes: messages, aggregation, update). Atoms are labelled with
        their element and index (``C0``, ``O2``, ...), as in ``edge_index``.
    """
    mol = _molecule(mol)
    n = mol.GetNumAtoms()
    if features is not None:
        features = np.asarray(features, dtype=float)
        if features.ndim != 2 or features.shape[0] != n:
            raise ValueError(f"features must have shape ({n}, F), got {features.shape}")
    neighbours = [[a.GetIdx() for a in atom.GetNeighbors()] for atom in mol.GetAtoms()]
    if receiver is None:
        receiver = int(np.argmax([len(ns) for ns in neighbours]))
    if isinstance(receiver, bool) or not isinstance(receiver, (int, np.integer)) or not 0 <= receiver < n:
        raise ValueError(f"receiver must be an atom index in [0, {n}), got {receiver!r}")
    symbols = [atom.GetSymbol() for atom in mol.GetAtoms()]
    labels = [f"{s}{i}" for i, s in enumerate(symbols)]
    xy = _layout(mol)
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]
    fig, (messages, aggregation, update) = plt.subplots(1, 3, figsize=figsize,
                                                        gridspec_kw={"width_ratios": [1, 1, 0.9]})

    for i, j in bonds:                                    # 1: every bond, both directions
        _arrow(messages, xy[i], xy[j], "0.3")
        _arrow(messages, xy[j], xy[i], "0.3")
    _nodes(messages, xy, labels, symbols, None, features, neighbours)
    _frame(messages, xy, f"1 · messages: each of the {len(bonds)} bonds carries\nh of its sender in both directions")

    for i, j in bonds:                                    # 2: only the receiver's incoming messages
        aggregation.plot(*xy[[i, j]].T, color=_FAINT, lw=1, zorder=1)
    for j in neighbours[receiver]:
        _arrow(aggregation, xy[j], xy[receiver], _ACCENT, width=2)
    _nodes(aggregation, xy, labels, symbols, receiver, features, neighbours)
    r = labels[receiver]
    formula = f"m{receiver} = " + " + ".join(f"h{j}" for j in neighbours[receiver])
    if features is not None:
        formula += "\n= " + " + ".join(_vector(features[j]) for j in neighbours[receiver])
        formula += f"\n= {_vector(features[neighbours[receiver]].sum(0))}"
    _frame(aggregation, xy, f"2 · aggregation at {r}: sum of the\n{len(neighbours[receiver])} messages arriving")
    aggregation.text(0.5, 0.02, formula, transform=aggregation.transAxes, ha="center", va="bottom", fontsize=9,
                     color=_ACCENT)

    update.set_axis_off()                                 # 3: the update, the same weights for every atom
    update.set_xlim(0, 1)
    update.set_ylim(0, 1)
    boxes = {f"h{receiver}\n(its own vector)": (0.24, 0.78), f"m{receiver}\n(sum of messages)": (0.76, 0.78),
             "update\n(same weights\nfor every atom)": (0.5, 0.45), f"h'{receiver}\n(input of the next layer)": (0.5, 0.1)}
    for text, (x, y) in boxes.items():
        update.add_patch(FancyBboxPatch((x - 0.2, y - 0.09), 0.4, 0.18, boxstyle="round,pad=0.02",
                                        facecolor="#fdf2e9" if text.startswith("update") else "white",
                                        edgecolor="0.3"))
        update.text(x, y, text, ha="center", va="center", fontsize=9)
    for start, end in (((0.24, 0.69), (0.45, 0.54)), ((0.76, 0.69), (0.55, 0.54)), ((0.5, 0.36), (0.5, 0.19))):
        update.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13, color="0.3", lw=1.4))
    update.text(0.5, 0.97, f"h'{receiver} = ReLU(h{receiver} W_self + m{receiver} W_neigh + b)", ha="center",
                va="top", fontsize=9)
    update.set_title(f"3 · update of {r}", fontsize=10)
    fig.suptitle("One message-passing layer: every atom does steps 2 and 3 at once", fontsize=11)
    fig.tight_layout()
    return fig
