"""``python -m deap_nos.cli``: the ``deap-nos`` command."""
import sys

from . import main

sys.exit(main())
