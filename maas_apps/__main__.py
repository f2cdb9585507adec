"""`python3 -m maas` runs the CLI (same as the `maas` command)."""

from maas_apps.cli import main

raise SystemExit(main())
