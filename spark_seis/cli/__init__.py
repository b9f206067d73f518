"""Command-line interface: `spark-seis <command>`."""
