import sys

from spark_seis.cli.main import main

sys.exit(main())
