"""spark-submit entry point for the misfit job.

    spark-submit --master spark://host:7077 jobs/misfit.py conf/job.yaml [--resume]
    python jobs/misfit.py conf/job.yaml            # local[*] from conf/job.yaml

An unreachable master (spark://, k8s://) is reported with its URL before any work.
"""
import sys

from spark_seis.cli.run import main
from spark_seis.engine.cluster import (
    MasterUnreachableError, check_master_reachable, submitted_master,
)


def _check_cluster() -> int:
    try:
        check_master_reachable(submitted_master())
    except MasterUnreachableError as exc:
        print(f"spark-seis: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_check_cluster() or main())
