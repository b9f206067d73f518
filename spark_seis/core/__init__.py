"""Seismic data objects: the currency of every stage, reader and writer."""
from .bundle import bundle_seismogram, split_seismogram
from .ensemble import SeismogramEnsemble, TimeSeriesEnsemble
from .errorlog import ErrorLog, ErrorSeverity, LogEntry
from .history import ProcessingHistory
from .metadata import Metadata
from .seismogram import Seismogram
from .timeseries import TimeSeries

__all__ = [
    "ErrorLog", "ErrorSeverity", "LogEntry", "Metadata", "ProcessingHistory",
    "Seismogram", "SeismogramEnsemble", "TimeSeries", "TimeSeriesEnsemble",
    "bundle_seismogram", "split_seismogram",
]
