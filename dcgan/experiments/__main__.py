"""`python -m dcgan.experiments`: the CLI, and the process start_experiment spawns."""

import sys

from .runner import main

sys.exit(main())
