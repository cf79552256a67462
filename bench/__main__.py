"""``make bench`` runs ``python -m bench``: the same benchmark as ``omnivec bench``."""

from omnivec.benchmark.command import main

raise SystemExit(main())
