"""Molecule pictures with RDKit: grids of structures and atoms coloured by attribution.

RDKit draws offline into PNG bytes; the functions return PIL images or draw them onto matplotlib
axes so they show up inline in notebooks and in exported HTML alike.
"""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image
from rdkit import Chem
from rdkit.Chem import Draw
from rdkit.Chem.Draw import rdMolDraw2D


def _check_mols(mols) -> list[Chem.Mol]:
    if isinstance(mols, Chem.Mol) or not hasattr(mols, "__len__") or not len(mols):
        raise TypeError("mols must be a non-empty sequence of RDKit Mol objects")
    if not all(isinstance(m, Chem.Mol) for m in mols):
        raise TypeError("mols must hold RDKit Mol objects only")
    return list(mols)


def molecule_grid(mols: Sequence[Chem.Mol], legends: Sequence[str] | None = None, per_row: int = 4,
                  size: tuple[int, int] = (220, 180)) -> Image.Image:
    """A grid of 2-D structure drawings as a PIL image."""
    mols = _check_mols(mols)
    if legends is not None and len(legends) != len(mols):
        raise ValueError(f"got {len(legends)} legends for {len(mols)} molecules")
    image = Draw.MolsToGridImage(mols, molsPerRow=per_row, subImgSize=size,
                                 legends=[str(s) for s in legends] if legends else None, returnPNG=False)
    return image if isinstance(image, Image.Image) else Image.open(io.BytesIO(image.data))


def show_image(image: Image.Image, ax: plt.Axes | None = None, title: str | None = None) -> plt.Axes:
    """Draw a PIL image on ``ax`` (a new figure sized to the image if ``None``) without axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(image.width / 100, image.height / 100))
    ax.imshow(image)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def _colour(weight: float, scale: float) -> tuple[float, float, float]:
    # red for atoms that push the prediction up (more soluble), blue for down; white for none
    t = float(np.clip(abs(weight) / scale, 0, 1)) if scale > 0 else 0.0
    return (1.0, 1 - 0.75 * t, 1 - 0.75 * t) if weight >= 0 else (1 - 0.75 * t, 1 - 0.75 * t, 1.0)


def attribution_image(mol: Chem.Mol, weights: Sequence[float], legend: str = "",
                      size: tuple[int, int] = (300, 260), scale: float | None = None) -> Image.Image:
    """``mol`` with every atom shaded by its weight: red positive, blue negative, white ~0.

    Args:
        weights: one number per atom, shape (n_atoms,).
        scale: the |weight| drawn at full colour (default: the largest |weight| of this molecule).
    """
    if not isinstance(mol, Chem.Mol):
        raise TypeError(f"mol must be an RDKit Mol, got {type(mol).__name__}")
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (mol.GetNumAtoms(),):
        raise ValueError(f"weights must have shape ({mol.GetNumAtoms()},), got {weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("weights contain NaN or infinite values")
    scale = float(np.abs(weights).max()) if scale is None else float(scale)
    atoms = list(range(mol.GetNumAtoms()))
    drawer = rdMolDraw2D.MolDraw2DCairo(*size)
    drawer.drawOptions().legendFontSize = 14
    rdMolDraw2D.PrepareAndDrawMolecule(
        drawer, mol, legend=legend, highlightAtoms=atoms,
        highlightAtomColors={i: _colour(w, scale) for i, w in zip(atoms, weights)},
        highlightAtomRadii={i: 0.45 for i in atoms}, highlightBonds=[])
    drawer.FinishDrawing()
    return Image.open(io.BytesIO(drawer.GetDrawingText()))


def plot_attributions(mols: Sequence[Chem.Mol], weights: Sequence[Sequence[float]],
                      legends: Sequence[str] | None = None, per_row: int = 3) -> plt.Figure:
    """A figure of :func:`attribution_image` panels, one per molecule."""
    mols = _check_mols(mols)
    if len(weights) != len(mols):
        raise ValueError(f"got {len(weights)} weight vectors for {len(mols)} molecules")
    legends = list(legends) if legends is not None else [""] * len(mols)
    rows = int(np.ceil(len(mols) / per_row))
    fig, axes = plt.subplots(rows, per_row, figsize=(3.2 * per_row, 2.8 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, mol, w, legend in zip(axes.ravel(), mols, weights, legends):
        ax.imshow(attribution_image(mol, w, legend))
    fig.tight_layout()
    return fig
