"""Run the dataset CLI: `python -m dcgan.data SOURCE [--size 64] [--grid PATH]`."""

import sys

from .cli import main

sys.exit(main())
