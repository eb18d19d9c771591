"""Data management: filters decide which task arguments and results move out of band,
transformers move them (files, ProxyStore) and leave a small reference in their place.

Filter and transformer plugins register themselves from modules in this package.
"""

from __future__ import annotations
