"""Detrend, taper, remove response, rotate and band-pass one stream.

Order and parameters follow Pyatoa's Manager.preprocess (response removal
with ObsPy defaults + water level, demean/taper, optional NE->RT rotation,
zero-phase Butterworth band-pass, detrend/demean/taper) so that windows
picked on our output match Pyatoa's.
"""
from __future__ import annotations

from obspy import Inventory, Stream
from obspy.core.event import Event
from obspy.geodetics import gps2dist_azimuth

from spark_seis.processing.errors import StageError
from spark_seis.workflow.config import Config


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


def remove_response(st: Stream, inv: Inventory, output: str,
                    water_level: float = 60.0) -> Stream:
    """Remove instrument response in place; StageError if none matches."""
    if inv is None:
        raise StageError("preprocess", "no inventory to remove the instrument "
                         "response with", "failed:response")
    for tr in st:
        try:
            tr.remove_response(inventory=inv, output=output,
                               water_level=water_level, plot=False)
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

    out.detrend("demean")
    out.taper(config.taper_percentage)

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
        apply_filter(out, config.min_period, config.max_period,
                     config.filter_corners, config.zerophase)
        out.detrend("simple")
        out.detrend("demean")
        out.taper(config.taper_percentage)
    return out
