"""Ingest files into the database: QuakeML, StationXML, MiniSEED, SAC, SPECFEM, ASDF.

Library part of ``spark-seis ingest``. Every function takes a
:class:`spark_seis.db.database.Database` and adds to an :class:`IngestSummary`;
nothing here prints (the CLI shows the progress and the summary).

Rules the misfit job relies on (``spark_seis.engine.misfit_job.build_plan``):
every ``wf_TimeSeries`` document carries ``net sta loc chan npts delta
starttime`` (epoch s), ``source_id`` (the ``_id`` of its ``source`` document)
and ``data_tag`` (``observed`` for data, the Config's synthetic tag such as
``synthetic_i01s00`` for synthetics, or an explicit ``tag``).

Identity: each trace has a deterministic key ``ingest_key`` =
``NET.STA.LOC.CHA|starttime in ms|data_tag|source_id`` and a document ``_id``
derived from it (so concurrent ingests cannot duplicate it); its ``npts`` and
``sample_sha1`` tell copies apart: ingesting twice adds nothing, a longer copy
replaces a truncated one, a different copy is reported naming both files
(:mod:`.identity`). Events are keyed on their full resource id. Malformed files
are skipped and named in the summary; they never abort an ingest. A full disk or
database stops it with :class:`IngestStopped` (file and cause).

:func:`ingest_waveforms` works on any slice of a listing: ``spark_seis.engine.ingest_spark``
runs it on Spark executors, one slice per task, with the same summary.
"""
from .common import IngestStopped, IngestSummary, ingest_key
from .discover import classify, collect_files
from .driver import (WAVEFORM_KINDS, IngestOptions, ingest_asdf_files, ingest_metadata,
                     ingest_paths, ingest_waveforms, start_ingest, stop_or_skip, waveform_tags)
from .metadata import ingest_quakeml, ingest_stationxml
from .sources import Sources
from .waveforms import ingest_asdf, ingest_cut, ingest_mseed, ingest_sac, ingest_semd

__all__ = ["IngestOptions", "IngestStopped", "IngestSummary", "Sources", "WAVEFORM_KINDS",
           "classify", "collect_files", "ingest_asdf", "ingest_asdf_files", "ingest_cut",
           "ingest_key", "ingest_metadata", "ingest_mseed", "ingest_paths", "ingest_quakeml",
           "ingest_sac", "ingest_semd", "ingest_stationxml", "ingest_waveforms", "start_ingest",
           "stop_or_skip", "waveform_tags"]
