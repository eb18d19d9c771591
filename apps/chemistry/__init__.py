"""Chemistry shared by the docking and moldesign apps: molecule libraries, a fingerprint
surrogate model and the active-learning campaign that drives both.

Every module here imports RDKit and scikit-learn lazily, inside the functions that run as
tasks, so that plugin discovery stays cheap.
"""

from __future__ import annotations
