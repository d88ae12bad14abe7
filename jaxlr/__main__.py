import sys

from jaxlr.cli import main

sys.exit(main())
