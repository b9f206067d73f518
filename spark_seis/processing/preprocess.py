"""Detrend, taper, remove response, rotate and band-pass one stream.

Order and parameters follow Pyatoa's Manager.preprocess (response removal
with ObsPy defaults + water level, demean/taper, optional NE->RT rotation,
zero-phase Butterworth band-pass, detrend/demean/taper) so that windows
picked on our output match Pyatoa's.
"""
from __future__ import annotations

import hashlib

import functools

import numpy as np
import scipy.signal
from obspy import Inventory, Stream, Trace
from obspy.core.event import Event
from obspy.core.inventory import Response
from obspy.geodetics import gps2dist_azimuth
from obspy.signal import filter as _sigfilter
from obspy.signal.detrend import simple as _detrend_simple

from spark_seis.processing.errors import StageError
from spark_seis.processing.config import Config


def station_coordinates(inv: Inventory, network: str, station: str
                        ) -> tuple[float, float]:
    """(latitude, longitude) of net.sta from an inventory."""
    for net in inv:
        if net.code != network:
            continue
        for sta in net:
            if sta.code == station:
                return float(sta.latitude), float(sta.longitude)
    raise StageError("metadata", f"station {network}.{station} not in "
                     f"inventory", "failed:metadata")


def event_origin(event: Event):
    """Preferred origin, else the first one."""
    origin = event.preferred_origin() or (event.origins[0] if event.origins
                                          else None)
    if origin is None:
        raise StageError("metadata", "event has no origin", "failed:metadata")
    return origin


def distance_and_baz(event: Event, inv: Inventory, network: str,
                     station: str) -> tuple[float, float]:
    """Great-circle distance (km) and back-azimuth (deg), source->receiver."""
    origin = event_origin(event)
    lat, lon = station_coordinates(inv, network, station)
    dist_m, _az, baz = gps2dist_azimuth(origin.latitude, origin.longitude,
                                        lat, lon)
    return dist_m / 1000.0, baz


# ---------------------------------------------------------------------------
# Same numerical kernels ObsPy's Trace.detrend/taper/filter dispatch to, called
# directly: ObsPy resolves them through package entry points on every call
# (~20 ms per station in importlib.metadata). Results are bit-identical
# (tests/test_misfit_perf.py).
def _float(data: np.ndarray) -> np.ndarray:
    return data if np.issubdtype(data.dtype, np.floating) else \
        np.require(data, dtype=np.float64)


def demean(tr: Trace) -> None:
    tr.data = scipy.signal.detrend(tr.data, type="constant")


def detrend_simple(tr: Trace) -> None:
    tr.data = _detrend_simple(tr.data)


@functools.lru_cache(maxsize=64)
def _hann_taper(npts: int, max_percentage: float) -> np.ndarray:
    wlen = min(int(max_percentage * npts), int(npts / 2))
    n = 2 * wlen if 2 * wlen == npts else 2 * wlen + 1
    sides = scipy.signal.windows.hann(n)
    taper = np.hstack((sides[:wlen], np.ones(npts - 2 * wlen),
                       sides[len(sides) - wlen:]))
    taper.flags.writeable = False
    return taper


def taper(tr: Trace, max_percentage: float) -> None:
    """Hann taper on both ends, as Trace.taper(max_percentage)."""
    tr.data = _float(tr.data)
    tr.data *= _hann_taper(tr.stats.npts, float(max_percentage))


def _filter_trace(tr: Trace, min_period, max_period, corners, zerophase):
    df = tr.stats.sampling_rate
    if min_period and max_period:
        tr.data = _sigfilter.bandpass(tr.data, 1.0 / max_period,
                                      1.0 / min_period, df=df,
                                      corners=corners, zerophase=zerophase)
    elif min_period:
        tr.data = _sigfilter.lowpass(tr.data, 1.0 / min_period, df=df,
                                     corners=corners, zerophase=zerophase)
    elif max_period:
        tr.data = _sigfilter.highpass(tr.data, 1.0 / max_period, df=df,
                                      corners=corners, zerophase=zerophase)


class CachedResponse(Response):
    """Response whose evalresp spectrum is cached per (response content, dt,
    nfft, output): the same sensor is deconvolved for every component, event
    and iteration.
    Returns copies, because ObsPy inverts the spectrum in place."""

    def __init__(self, response: Response, key: str) -> None:
        super().__init__(resource_id=response.resource_id,
                         instrument_sensitivity=response.instrument_sensitivity,
                         instrument_polynomial=response.instrument_polynomial,
                         response_stages=response.response_stages)
        self._key = key

    def get_evalresp_response(self, t_samp, nfft, output="VEL", **kwargs):
        if kwargs:
            return super().get_evalresp_response(t_samp, nfft, output,
                                                 **kwargs)
        resp, freqs = _evalresp(self, self._key, float(t_samp), int(nfft),
                                output)
        return resp.copy(), freqs.copy()


_EVALRESP: dict = {}
_EVALRESP_MAX = 48  # ~48 x 16k complex spectra: bounded memory per worker


def _evalresp(resp: CachedResponse, key: str, t_samp: float, nfft: int,
              output: str):
    k = (key, t_samp, nfft, output)
    hit = _EVALRESP.get(k)
    if hit is None:
        hit = Response.get_evalresp_response(resp, t_samp, nfft, output)
        if len(_EVALRESP) >= _EVALRESP_MAX:
            _EVALRESP.pop(next(iter(_EVALRESP)))
        _EVALRESP[k] = hit
    return hit


_NOT_CONTENT = frozenset({"name", "resource_id", "resource_id2", "description"})


def _response_key(tr: Trace, resp: Response) -> str:
    """Digest of what evalresp computes from: channels with equal responses
    (E, N and Z of one sensor, usually) share one cached spectrum."""
    digest = hashlib.sha1()
    sens = resp.instrument_sensitivity
    digest.update(repr((getattr(sens, "value", None), getattr(sens, "frequency", None),
                        getattr(sens, "input_units", None))).encode())
    for stage in resp.response_stages:
        content = sorted((k, v) for k, v in vars(stage).items() if k not in _NOT_CONTENT)
        digest.update(type(stage).__name__.encode() + repr(content).encode())
    return digest.hexdigest()


def apply_filter(st: Stream, min_period: float | None,
                 max_period: float | None, corners: int = 2,
                 zerophase: bool = True) -> Stream:
    """Band-pass (both bounds), low-pass (min only) or high-pass (max only)."""
    if min_period and max_period:
        st.filter("bandpass", freqmin=1.0 / max_period,
                  freqmax=1.0 / min_period, corners=corners,
                  zerophase=zerophase)
    elif min_period:
        st.filter("lowpass", freq=1.0 / min_period, corners=corners,
                  zerophase=zerophase)
    elif max_period:
        st.filter("highpass", freq=1.0 / max_period, corners=corners,
                  zerophase=zerophase)
    return st


# Input units of a seismometer/accelerometer response (ObsPy/evalresp names,
# displacement, velocity, acceleration). Anything else (Pa, V, strain, counts)
# cannot be deconvolved to DISP/VEL/ACC.
GROUND_MOTION_UNITS = frozenset(
    f"{scale}{rate}" for scale in ("M", "NM", "CM", "MM")
    for rate in ("", "/S", "/SEC", "/S**2", "/(S**2)", "/SEC**2", "/(SEC**2)",
                 "/S/S"))


def check_response_units(tr: Trace, resp: Response) -> None:
    """StageError naming the channel when the response is not ground motion."""
    units = None
    if resp.response_stages:
        units = resp.response_stages[0].input_units
    sens = resp.instrument_sensitivity
    if not units and sens is not None:
        units = sens.input_units
    if units and str(units).strip().upper() not in GROUND_MOTION_UNITS:
        raise StageError("preprocess", f"response of {tr.id} has input units "
                         f"{units!r}, not ground motion (m, m/s, m/s**2): "
                         f"cannot remove it", "failed:response")


def remove_response(st: Stream, inv: Inventory, output: str,
                    water_level: float = 60.0) -> Stream:
    """Remove instrument response in place; StageError if none matches."""
    if inv is None:
        ids = ", ".join(sorted({tr.id for tr in st}))
        raise StageError("preprocess", f"no inventory (StationXML) to remove the "
                         f"instrument response of {ids} with", "failed:response")
    for tr in st:
        try:
            resp = inv.get_response(tr.id, tr.stats.starttime)
            check_response_units(tr, resp)
            tr.stats.response = CachedResponse(resp, _response_key(tr, resp))
            tr.remove_response(output=output, water_level=water_level,
                               plot=False)
            del tr.stats.response
        except StageError:
            raise
        except Exception as exc:  # obspy raises ValueError/Exception variants
            raise StageError("preprocess", f"cannot remove response of "
                             f"{tr.id}: {exc}", "failed:response") from exc
    if any(c not in "ZNE" for c in "".join(tr.stats.channel[-1] for tr in st)):
        try:
            st.rotate(method="->ZNE", inventory=inv,
                      components=["ZNE", "Z12", "123"])
        except Exception as exc:
            raise StageError("preprocess", f"cannot rotate to ZNE: {exc}",
                             "failed:rotate") from exc
    return st


def preprocess(st: Stream, config: Config, inv: Inventory | None = None,
               kind: str = "obs", baz: float | None = None) -> Stream:
    """Return a preprocessed copy of ``st`` ('obs' or 'syn' kind)."""
    if kind not in ("obs", "syn"):
        raise ValueError(f"kind must be 'obs' or 'syn', not {kind!r}")
    if not st:
        raise StageError("preprocess", f"no {kind} traces", "failed:no_data")
    out = st.copy()
    stream_type = config.st_obs_type if kind == "obs" else config.st_syn_type
    if config.remove_response and stream_type == "obs":
        remove_response(out, inv, config.unit_output, config.water_level)

    for tr in out:
        demean(tr)
        taper(tr, config.taper_percentage)

    if config.rotate_to_rtz:
        if baz is None:
            raise StageError("preprocess", "rotate_to_rtz needs event and "
                             "station coordinates (no back-azimuth)",
                             "failed:rotate")
        try:
            out.rotate(method="NE->RT", back_azimuth=baz)
        except Exception as exc:
            raise StageError("preprocess", f"cannot rotate NE->RT: {exc}",
                             "failed:rotate") from exc

    if config.min_period or config.max_period:
        for tr in out:
            _filter_trace(tr, config.min_period, config.max_period,
                          config.filter_corners, config.zerophase)
            detrend_simple(tr)
            demean(tr)
            taper(tr, config.taper_percentage)
            tr.stats.processing = list(tr.stats.get("processing", [])) + [
                f"spark_seis: filter(options={{'min_period': "
                f"{config.min_period}, 'max_period': {config.max_period}, "
                f"'corners': {config.filter_corners}, 'zerophase': "
                f"{config.zerophase}}})"]
    return out
