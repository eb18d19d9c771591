"""Protein-ligand docking with active learning (the Parsl docking tutorial, rebuilt).

Each ligand goes SMILES -> 3D conformer (RDKit) -> PDBQT (Meeko) -> AutoDock Vina score;
a scikit-learn surrogate trained on the scores so far chooses the next ligands to dock.
See docs/apps/docking.md.
"""

from __future__ import annotations
