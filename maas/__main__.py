"""`python3 -m maas` runs the CLI (same as the `maas` command)."""

from maas.cli import main

raise SystemExit(main())
