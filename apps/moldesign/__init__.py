"""Molecular design: an active-learning search for molecules of high ionisation
potential (TaPS and Colmena's moldesign), with xTB through tblite and ASE.
See docs/apps/moldesign.md.
"""

from __future__ import annotations
