"""Random and Bemis–Murcko scaffold splits into train / validation / test index arrays.

A random split puts near-copies of the same chemical series on both sides, so the test score says how
well a model interpolates *within* known series. A scaffold split keeps every molecule sharing a
Bemis–Murcko scaffold (ring systems plus the linkers between them) in one part: the test set holds
only scaffolds the model has never seen, the honest estimate for new chemistry.

Invalid inputs (``None``, NaN, strings RDKit cannot parse) do not stop :func:`scaffold_split`: they
are left out of all three parts and listed in :attr:`Split.dropped` (positions in the input), and
RDKit's error lines are blocked; :meth:`Split.report` says how many were dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

from course_lib.molecules.standardize import is_missing, parse_smiles


@dataclass(frozen=True)
class Split:
    """Positions of the train, validation and test molecules (int64 arrays, disjoint).

    ``dropped`` holds the positions of invalid inputs that are in no part (a scaffold split of a list
    with unparseable SMILES); positions always refer to the input as given.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    kind: str = "random"
    dropped: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        parts = [np.asarray(getattr(self, p), dtype=np.int64) for p in ("train", "val", "test")]
        for name, part in zip(("train", "val", "test"), parts):
            if part.ndim != 1 or part.size == 0:
                raise ValueError(f"{name} must be a non-empty 1-D index array")
            object.__setattr__(self, name, part)
        joined = np.concatenate(parts)
        if len(np.unique(joined)) != len(joined):
            raise ValueError("train, val and test share molecules")
        dropped = tuple(int(i) for i in self.dropped)
        if set(dropped) & set(joined.tolist()):
            raise ValueError("dropped positions must not appear in train, val or test")
        object.__setattr__(self, "dropped", dropped)

    @property
    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.val), len(self.test)

    def report(self) -> str:
        """One line: the kind, the part sizes and shares, and the dropped invalid inputs."""
        sizes = self.sizes
        kept = sum(sizes)
        shares = "/".join(f"{100 * k / kept:.0f}" for k in sizes)
        line = (f"{self.kind} split of {kept + len(self.dropped):,} molecules: train/val/test "
                f"{sizes[0]:,}/{sizes[1]:,}/{sizes[2]:,} ({shares} %)")
        if not self.dropped:
            return line + ("; no invalid SMILES dropped" if self.kind == "scaffold" else "")
        shown = ", ".join(str(i) for i in self.dropped[:10]) + (" ..." if len(self.dropped) > 10 else "")
        return line + f"; dropped {len(self.dropped)} invalid SMILES (positions {shown})"


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(not 0 < f < 1 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three numbers in (0, 1) summing to 1, got {fractions!r}")
    return tuple(float(f) for f in fractions)


def random_split(n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    """A seeded random split of ``n`` molecules into train/val/test."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 3:
        raise ValueError(f"n must be an int >= 3, got {n!r}")
    f_train, f_val, _ = _check_fractions(fractions)
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = int(round(f_train * n)), int(round(f_val * n))
    return Split(order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:], "random")


def murcko_scaffold(mol: Chem.Mol | str) -> str:
    """The Bemis–Murcko scaffold of a molecule as canonical SMILES ("" for an acyclic molecule).

    An invalid SMILES raises ``ValueError`` (without RDKit's own error lines on stderr)."""
    if isinstance(mol, str):
        parsed = parse_smiles(mol)
        if parsed is None:
            raise ValueError(f"invalid SMILES {mol!r}")
        mol = parsed
    if not isinstance(mol, Chem.Mol):
        raise TypeError(f"mol must be an RDKit Mol or a SMILES string, got {type(mol).__name__}")
    with rdBase.BlockLogs():
        return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)


def _valid_mol(mol, position: int) -> Chem.Mol | None:
    """The RDKit molecule of one input of :func:`scaffold_split`, or None when it is invalid."""
    if is_missing(mol):
        return None
    if isinstance(mol, str):
        mol = parse_smiles(mol)
    elif not isinstance(mol, Chem.Mol):
        raise TypeError(f"molecules[{position}] must be an RDKit Mol, a SMILES string or None, "
                        f"got {type(mol).__name__}")
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def scaffold_split(molecules: Sequence[Chem.Mol | str | None], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                   seed: int = 0) -> Split:
    """A seeded, balanced Bemis–Murcko scaffold split: no scaffold appears in two parts.

    Scaffold groups larger than half the test size go first into train (so one huge group, e.g. the
    acyclic molecules or benzene derivatives, cannot swallow the test set); the other groups follow
    in seeded random order. Each group goes whole into train until train is full, then into val, then
    test (the "balanced scaffold split" of Yang et al., 2019).

    Invalid inputs (``None``, NaN, SMILES RDKit cannot parse or without atoms) are in no part: their
    positions are in ``Split.dropped`` and the fractions apply to the valid molecules. For input
    without invalid entries the split is exactly the one of earlier course versions.
    """
    if isinstance(molecules, (str, bytes)) or not hasattr(molecules, "__len__"):
        raise TypeError("molecules must be a sequence of RDKit Mols or SMILES strings")
    f_train, f_val, f_test = _check_fractions(fractions)
    valid: list[tuple[int, Chem.Mol]] = []
    dropped: list[int] = []
    for i, mol in enumerate(molecules):
        parsed = _valid_mol(mol, i)
        if parsed is None:
            dropped.append(i)
        else:
            valid.append((i, parsed))
    n = len(valid)
    if n < 3:
        raise ValueError(f"need at least 3 valid molecules, got {n} (of {len(molecules)}; "
                         f"{len(dropped)} invalid)")
    groups: dict[str, list[int]] = {}
    for i, mol in valid:
        groups.setdefault(murcko_scaffold(mol), []).append(i)
    sets = list(groups.values())
    if len(sets) < 3:
        raise ValueError(f"only {len(sets)} distinct scaffolds: cannot make three scaffold-disjoint parts")
    n_train, n_val = f_train * n, f_val * n
    big = [s for s in sets if len(s) > f_test * n / 2]
    small = [s for s in sets if len(s) <= f_test * n / 2]
    rng = np.random.default_rng(seed)
    rng.shuffle(big)
    rng.shuffle(small)
    train, val, test = [], [], []
    for group in big + small:
        if len(train) + len(group) <= n_train:
            train += group
        elif len(val) + len(group) <= n_val:
            val += group
        else:
            test += group
    if not val or not test:
        raise ValueError("a scaffold group is too large to leave molecules for validation and test")
    return Split(np.array(train), np.array(val), np.array(test), "scaffold", tuple(dropped))


def scaffolds_shared(split: Split, scaffolds: Sequence[str]) -> set[str]:
    """Scaffolds that occur in more than one part of ``split`` (empty for a scaffold split)."""
    scaffolds = np.asarray(scaffolds, dtype=object)
    parts = [set(scaffolds[getattr(split, p)]) for p in ("train", "val", "test")]
    return (parts[0] & parts[1]) | (parts[0] & parts[2]) | (parts[1] & parts[2])
