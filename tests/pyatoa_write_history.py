"""Run inside the Pyatoa 0.4.2 venv: write an event file holding i01/s00 and i01/s01
exactly as Pyatoa does (Manager.flow + write_to_dataset), for the history tests.

    python tests/pyatoa_write_history.py DATA_DIR OUT.h5
"""
import logging
import sys
import warnings
from pathlib import Path

warnings.simplefilter("ignore")


def main(data: Path, out: Path) -> None:
    import pyasdf
    import pyatoa
    from obspy import read, read_events, read_inventory
    from pyatoa import Config, Manager

    pyatoa.logger.setLevel(logging.CRITICAL)
    inv = read_inventory(str(data / "test_dataless_NZ_BFZ.xml"))
    event = read_events(str(data / "test_catalog_2018p130600.xml"))[0]
    st_obs = read(str(data / "test_obs_data_NZ_BFZ_2018p130600.ascii"))
    st_syn = read(str(data / "test_syn_data_NZ_BFZ_2018p130600.ascii"))
    with pyasdf.ASDFDataSet(str(out), mode="w") as ds:
        for step, min_period in ((0, 10.0), (1, 12.0)):
            config = Config(event_id="2018p130600", iteration=1, step_count=step,
                            min_period=min_period, max_period=100.0)
            mgmt = Manager(config=config, ds=ds, event=event, st_obs=st_obs.copy(),
                           st_syn=st_syn.copy(), inv=inv)
            mgmt.flow(remove_response=True, output="DISP")
            mgmt.write_to_dataset()
    print("ok")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
