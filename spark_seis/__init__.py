"""spark_seis: seismic TimeSeries/Seismogram pipelines on Spark with MsPASS-style
metadata management and Pyatoa-style misfit storage."""

__version__ = "0.1.0"
