import sys

from cpts_geo.cli import main

sys.exit(main())
