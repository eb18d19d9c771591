"""Allow ``python -m tapstrace``."""

from __future__ import annotations

from tapstrace.cli.main import main

if __name__ == "__main__":
    main()
