"""The moldesign simulation tasks: relax a molecule with GFN2-xTB, then compute its
vertical ionisation potential. Module-level functions, heavy imports inside."""

from __future__ import annotations

import io
from typing import Any

from tapstrace.apps.threads import limit_threads

#: xtb's empirical shift of IPEA-xTB ionisation potentials (eV), as ``xtb --vip`` applies.
IPEA_SHIFT_EV = 4.8455


def _calculator(method: str, charge: int = 0, multiplicity: int = 1) -> Any:
    from tblite.ase import TBLite

    return TBLite(method=method, charge=charge, multiplicity=multiplicity, verbosity=0)


def relax_structure(
    smiles: str, method: str, fmax: float, steps: int, seed: int, threads: int = 1
) -> str:
    """Embed ``smiles`` in 3D (RDKit ETKDG + MMFF94), relax it with xTB (ASE LBFGS) and
    return the geometry as XYZ text."""
    import tblite.ase  # noqa: F401 (loads tblite's OpenMP before the thread limit)
    from ase import Atoms
    from ase.io import write
    from ase.optimize import LBFGS

    from tapstrace.apps.chemistry.conformers import embed

    limit_threads(threads, "tblite")
    mol = embed(smiles, seed)
    atoms = Atoms(
        [atom.GetSymbol() for atom in mol.GetAtoms()],
        positions=mol.GetConformer().GetPositions(),
    )
    atoms.calc = _calculator(method)
    optimizer = LBFGS(atoms, logfile=None)  # type: ignore[arg-type]  # None: no log
    if not optimizer.run(fmax=fmax, steps=steps):
        raise RuntimeError(f"xTB relaxation of {smiles!r} did not converge in {steps} steps")
    buffer = io.StringIO()
    write(buffer, atoms, format="xyz", comment=smiles)
    return buffer.getvalue()


def vertical_ip(xyz: str, method: str, shift: float, threads: int = 1) -> float:
    """Vertical ionisation potential in eV: E(cation) - E(neutral) at the neutral
    geometry (delta-SCF), minus ``shift`` (xtb's empirical IPEA-xTB shift by default)."""
    import tblite.ase  # noqa: F401
    from ase.io import read

    limit_threads(threads, "tblite")
    atoms = read(io.StringIO(xyz), format="xyz", index=-1)
    assert not isinstance(atoms, list)
    atoms.calc = _calculator(method)
    neutral = float(atoms.get_potential_energy())
    cation = atoms.copy()
    cation.calc = _calculator(method, charge=1, multiplicity=2)
    return float(cation.get_potential_energy()) - neutral - shift
