"""Write NZ.BFZ.BX?.semd as SPECFEM3D writes them (run once; outputs are committed).

SPECFEM computes each time as ``dble(it-1)*DT - t0`` and writes time and
amplitude in single precision (CUSTOM_REAL) with Fortran list-directed output,
so the time column reads ``-19.9874992`` rather than ``-19.9875``. Amplitudes
are the bundled SPECFEM synthetics of NZ.BFZ (DT 0.03 s) interpolated to
DT 0.0125 s (80 Hz), i.e. what a run with that time step writes.

    python make_semd.py   # from this directory
"""
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
SOURCE = HERE.parent / "nz_2018p130600" / "synthetics_BFZ"
DT, T0, NSTEP = 0.0125, -20.0, 16000  # -20 s .. 179.9875 s


def fortran_real4(value: np.float32) -> str:
    """gfortran list-directed REAL(4): 9 significant digits, F or E form."""
    x = float(value)
    if x == 0.0:
        return "   0.00000000    "
    if 0.1 <= abs(x) < 1e8:
        digits = 9 - (int(np.floor(np.log10(abs(x)))) + 1)
        return f"{x:17.{max(digits, 0)}f}"
    return f"{x:17.8E}"


def main() -> None:
    times = (np.arange(NSTEP, dtype=np.float64) * DT + T0).astype(np.float32)
    for src in sorted(SOURCE.glob("NZ.BFZ.BX?.semd")):
        t_src, a_src = np.loadtxt(src, unpack=True)
        amp = np.interp(times.astype(np.float64), t_src, a_src).astype(np.float32)
        lines = [f"{fortran_real4(t)} {fortran_real4(a)}\n" for t, a in zip(times, amp)]
        (HERE / src.name).write_text("".join(lines))


if __name__ == "__main__":
    main()
