"""Entry point for ingest (runs on the driver; no Spark needed).

    python jobs/ingest.py -c conf/job.yaml data/catalog.xml data/stations.xml data/mseed/
    spark-submit jobs/ingest.py -c conf/job.yaml ...   # same, from a cluster's edge node
"""
import sys

from spark_seis.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
