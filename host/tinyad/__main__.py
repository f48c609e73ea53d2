import sys

from tinyad.cli import main

sys.exit(main())
