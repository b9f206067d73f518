"""spark-submit entry point for the misfit job.

    spark-submit --master spark://host:7077 jobs/misfit.py conf/job.yaml [--resume]
    python jobs/misfit.py conf/job.yaml            # local[*] from conf/job.yaml
"""
import sys

from spark_seis.cli.run import main

if __name__ == "__main__":
    sys.exit(main())
