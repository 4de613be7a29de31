"""Molecules as graphs: SMILES -> :class:`torch_geometric.data.Data`.

Atoms become nodes, bonds become a pair of directed edges (one per direction). Every categorical
feature is one-hot with a final "other" slot, so an unseen element or hybridization still fits.

Node features ``x`` (float32, shape (n_atoms, ATOM_DIM)): element, degree, formal charge,
hybridization, total number of hydrogens (one-hot each), aromatic and in-ring flags.
Edge features ``edge_attr`` (float32, shape (2 * n_bonds, BOND_DIM)): bond type one-hot
(single/double/triple/aromatic), conjugated and in-ring flags.

Invalid SMILES are never turned into empty graphs: :func:`featurize` drops them and reports how many
and which ones (:class:`FeaturizedSet.invalid`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from rdkit import Chem
from torch_geometric.data import Data

from course_lib.molecules.standardize import parse_smiles

ELEMENTS = ("C", "N", "O", "S", "F", "Cl", "Br", "I", "P")
DEGREES = (0, 1, 2, 3, 4, 5)
FORMAL_CHARGES = (-1, 0, 1)
HYBRIDIZATIONS = (Chem.HybridizationType.SP, Chem.HybridizationType.SP2, Chem.HybridizationType.SP3,
                  Chem.HybridizationType.SP3D, Chem.HybridizationType.SP3D2)
NUM_HS = (0, 1, 2, 3, 4)
BOND_TYPES = (Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC)


def _feature_names() -> list[str]:
    names = [f"element={e}" for e in ELEMENTS] + ["element=other"]
    names += [f"degree={d}" for d in DEGREES] + ["degree=other"]
    names += [f"charge={c:+d}" for c in FORMAL_CHARGES] + ["charge=other"]
    names += [f"hybrid={str(h)}" for h in HYBRIDIZATIONS] + ["hybrid=other"]
    names += [f"num_Hs={h}" for h in NUM_HS] + ["num_Hs=other"]
    return names + ["aromatic", "in_ring"]


ATOM_FEATURES: tuple[str, ...] = tuple(_feature_names())
BOND_FEATURES: tuple[str, ...] = ("single", "double", "triple", "aromatic", "conjugated", "in_ring")
ATOM_DIM = len(ATOM_FEATURES)
BOND_DIM = len(BOND_FEATURES)


def _one_hot(value, choices: Sequence) -> list[float]:
    out = [0.0] * (len(choices) + 1)
    out[choices.index(value) if value in choices else len(choices)] = 1.0
    return out


def atom_features(atom: Chem.Atom) -> list[float]:
    """The ATOM_DIM features of one RDKit atom (see :data:`ATOM_FEATURES`)."""
    return (_one_hot(atom.GetSymbol(), ELEMENTS) + _one_hot(atom.GetDegree(), DEGREES)
            + _one_hot(atom.GetFormalCharge(), FORMAL_CHARGES)
            + _one_hot(atom.GetHybridization(), HYBRIDIZATIONS) + _one_hot(atom.GetTotalNumHs(), NUM_HS)
            + [float(atom.GetIsAromatic()), float(atom.IsInRing())])


def bond_features(bond: Chem.Bond) -> list[float]:
    """The BOND_DIM features of one RDKit bond (see :data:`BOND_FEATURES`); an unlisted bond type
    (dative, ...) has all four type slots zero."""
    kind = bond.GetBondType()
    return [float(kind == t) for t in BOND_TYPES] + [float(bond.GetIsConjugated()), float(bond.IsInRing())]


def mol_to_graph(mol: Chem.Mol, y: float | None = None) -> Data:
    """One molecule as a graph: ``x`` (n_atoms, ATOM_DIM), ``edge_index`` (2, 2 * n_bonds) int64,
    ``edge_attr`` (2 * n_bonds, BOND_DIM) and, if given, ``y`` of shape (1,)."""
    if not isinstance(mol, Chem.Mol):
        raise TypeError(f"mol must be an RDKit Mol, got {type(mol).__name__}")
    if mol.GetNumAtoms() == 0:
        raise ValueError("mol has no atoms")
    x = torch.tensor([atom_features(a) for a in mol.GetAtoms()], dtype=torch.float32)
    sources, targets, attrs = [], [], []
    for bond in mol.GetBonds():
        i, j, feats = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx(), bond_features(bond)
        sources += [i, j]
        targets += [j, i]
        attrs += [feats, feats]
    edge_index = torch.tensor([sources, targets], dtype=torch.long).reshape(2, -1)
    edge_attr = torch.tensor(attrs, dtype=torch.float32).reshape(-1, BOND_DIM)
    graph = Data(x=x, edge_index=edge_index, edge_attr=edge_attr)
    if y is not None:
        graph.y = torch.tensor([float(y)], dtype=torch.float32)
    return graph


def smiles_to_graph(smiles: str, y: float | None = None) -> Data:
    """:func:`mol_to_graph` of a SMILES string; an invalid SMILES raises ``ValueError``."""
    mol = parse_smiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}: RDKit cannot parse it into a molecule with atoms")
    graph = mol_to_graph(mol, y)
    graph.smiles = smiles
    return graph


@dataclass
class FeaturizedSet:
    """The result of :func:`featurize`.

    Attributes:
        graphs: one :class:`Data` per valid molecule, in input order (``smiles`` attribute set).
        index: position in the input of each graph, int array of shape (len(graphs),).
        mols: the RDKit molecules of the valid SMILES.
        invalid: ``(position, smiles)`` of every dropped SMILES.
        n_input: number of SMILES given.
    """

    graphs: list[Data]
    index: np.ndarray
    mols: list[Chem.Mol]
    invalid: list[tuple[int, str]] = field(default_factory=list)
    n_input: int = 0

    def report(self) -> str:
        """One line: how many SMILES were kept and dropped, and the first dropped ones."""
        line = f"featurized {len(self.graphs):,} of {self.n_input:,} molecules"
        if not self.invalid:
            return line + "; no invalid SMILES"
        shown = ", ".join(repr(s) for _, s in self.invalid[:5]) + (" ..." if len(self.invalid) > 5 else "")
        return line + f"; dropped {len(self.invalid)} invalid SMILES: {shown}"


def featurize(smiles: Sequence[str], targets: Sequence[float] | np.ndarray | None = None,
              verbose: bool = True) -> FeaturizedSet:
    """Turn SMILES into graphs, dropping (and reporting) the ones RDKit cannot parse.

    Args:
        smiles: N SMILES strings.
        targets: optional N numbers stored as each graph's ``y`` (shape (1,)).
        verbose: print :meth:`FeaturizedSet.report`.
    """
    if isinstance(smiles, str) or not hasattr(smiles, "__len__"):
        raise TypeError("smiles must be a sequence of SMILES strings, not a single string")
    if targets is not None:
        targets = np.asarray(targets, dtype=float)
        if targets.shape != (len(smiles),):
            raise ValueError(f"targets must have shape ({len(smiles)},), got {targets.shape}")
        if not np.all(np.isfinite(targets)):
            raise ValueError("targets contain NaN or infinite values")
    graphs, index, mols, invalid = [], [], [], []
    for i, s in enumerate(smiles):
        if not isinstance(s, str):
            invalid.append((i, repr(s)))
            continue
        mol = parse_smiles(s)
        if mol is None:
            invalid.append((i, s))
            continue
        graph = mol_to_graph(mol, None if targets is None else targets[i])
        graph.smiles = s
        graphs.append(graph)
        index.append(i)
        mols.append(mol)
    result = FeaturizedSet(graphs, np.asarray(index, dtype=np.int64), mols, invalid, len(smiles))
    if not graphs:
        raise ValueError(f"none of the {len(smiles)} SMILES could be parsed: " + result.report())
    if verbose:
        print(result.report())
    return result
