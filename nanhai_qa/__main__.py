"""`python -m nanhai_qa …` is the `nanhai-qa` command."""

import sys

from nanhai_qa.app.cli import main

sys.exit(main())
