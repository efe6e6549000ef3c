"""`python -m casebot`: the same as the `casebot` command."""

from casebot.cli import main

raise SystemExit(main())
