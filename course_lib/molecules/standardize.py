"""Salt stripping: keep the largest organic fragment of every SMILES, and say what was removed.

A measured compound is often recorded as a salt or with its solvent (``"CC(=O)[O-].[Na+]"``, sodium
acetate). Featurized as is, that is one graph with two disconnected parts: the counter-ion's atoms
enter the sum readout and the model learns from them silently. :func:`largest_fragment` keeps the
largest organic fragment (RDKit's ``rdMolStandardize.LargestFragmentChooser(preferOrganic=True)``),
returns its canonical SMILES, and lists every input it changed and every input it could not parse.

The kept fragment keeps its charge (acetate stays ``CC(=O)[O-]``): stripping a counter-ion is not
neutralization. RDKit's own log lines are blocked (``rdkit.rdBase.BlockLogs``): invalid SMILES are
reported here, once, in :meth:`StandardizedSmiles.report`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from rdkit import Chem, rdBase
from rdkit.Chem.MolStandardize import rdMolStandardize


@dataclass
class StandardizedSmiles:
    """The result of :func:`largest_fragment`.

    Attributes:
        smiles: one entry per input, in input order: the canonical SMILES of the kept fragment, or
            ``None`` where the input does not parse (so positions still line up with targets).
        n_salts_stripped: how many inputs had more than one fragment.
        stripped: ``(position, original, kept)`` for every input that had more than one fragment.
        invalid: ``(position, original)`` for every input that does not parse (``None``, a missing
            value, an unparseable string or one without atoms).
        n_input: number of inputs.
    """

    smiles: list[str | None]
    n_salts_stripped: int = 0
    stripped: list[tuple[int, str, str]] = field(default_factory=list)
    invalid: list[tuple[int, str]] = field(default_factory=list)
    n_input: int = 0

    @property
    def valid(self) -> list[int]:
        """Positions of the inputs that parsed (where :attr:`smiles` is not ``None``)."""
        return [i for i, s in enumerate(self.smiles) if s is not None]

    def report(self) -> str:
        """One line: how many molecules were kept, how many salts stripped, how many invalid."""
        line = (f"standardized {len(self.valid):,} of {self.n_input:,} molecules; "
                f"stripped salts/solvents from {self.n_salts_stripped}")
        if self.stripped:
            shown = ", ".join(f"{o!r} -> {k!r}" for _, o, k in self.stripped[:3])
            line += f" ({shown}{' ...' if len(self.stripped) > 3 else ''})"
        if not self.invalid:
            return line + "; no invalid SMILES"
        shown = ", ".join(f"{s!r} (position {i})" for i, s in self.invalid[:5])
        return line + f"; {len(self.invalid)} invalid SMILES: {shown}{' ...' if len(self.invalid) > 5 else ''}"


def parse_smiles(smiles: str) -> Chem.Mol | None:
    """The RDKit molecule of ``smiles``, or ``None`` when it does not parse, has no atoms, or has a
    blank inside it (blanks around it are ignored). RDKit's own error messages are silenced: callers
    count and report invalid SMILES themselves.

    Why a blank inside is invalid: RDKit reads a SMILES up to its first blank and takes the rest as
    the molecule's name, so ``"CCO .Cl"`` would silently become ethanol without its salt.
    """
    if not isinstance(smiles, str):
        raise TypeError(f"smiles must be a str, got {type(smiles).__name__}")
    text = smiles.strip()
    if any(character.isspace() for character in text):
        return None
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(text)
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


def is_missing(value) -> bool:
    """True for ``None`` and float NaN (pandas' missing value in a column of strings)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def largest_fragment(smiles: Sequence[str | None]) -> StandardizedSmiles:
    """Keep the largest organic fragment of every SMILES (canonical SMILES), and report the changes.

    Args:
        smiles: N SMILES strings; ``None`` or NaN entries count as invalid.

    Returns:
        A :class:`StandardizedSmiles` with N entries in ``smiles`` (``None`` where invalid).
    """
    if isinstance(smiles, (str, bytes)) or not hasattr(smiles, "__len__"):
        raise TypeError("smiles must be a sequence of SMILES strings, not a single string")
    chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
    kept: list[str | None] = []
    stripped: list[tuple[int, str, str]] = []
    invalid: list[tuple[int, str]] = []
    with rdBase.BlockLogs():
        for i, s in enumerate(smiles):
            if is_missing(s):
                kept.append(None)
                invalid.append((i, repr(s)))
                continue
            if not isinstance(s, str):
                raise TypeError(f"smiles[{i}] must be a str or None, got {type(s).__name__}")
            mol = parse_smiles(s)
            if mol is None:
                kept.append(None)
                invalid.append((i, s))
                continue
            if len(Chem.GetMolFrags(mol)) > 1:
                fragment = Chem.MolToSmiles(chooser.choose(mol))
                stripped.append((i, s, fragment))
                kept.append(fragment)
            else:
                kept.append(Chem.MolToSmiles(mol))
    return StandardizedSmiles(kept, len(stripped), stripped, invalid, len(smiles))
