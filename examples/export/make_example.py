"""Regenerate the example export beside this file: a synthetic practice's appointments and list.

    python examples/export/make_example.py

One recorded year of ``small_practice.yaml`` (seed fixed, so the files come out
the same, byte for byte), written the way an EMIS Web appointment report would
be (UK dates, split date and time columns), with the registered list and each
patient's usual GP. Every patient and clinician is made up; the README's
calibrate example reads these files.
"""

from __future__ import annotations

from pathlib import Path

from analysis.calibration.synthetic import export_from_appointments, list_from_patients
from sim import load_scenario
from sim.runs.single import run

HERE = Path(__file__).resolve().parent


def main(out: Path = HERE) -> None:
    """Write ``appointments.csv`` and ``list.csv`` into ``out`` (default: beside this file)."""
    result = run(load_scenario(HERE / "small_practice.yaml"), replication=0)
    export_from_appointments(result.appointments, "emis_web").to_csv(
        out / "appointments.csv", index=False, lineterminator="\n")
    list_from_patients(result.patients, usual_gp=True).to_csv(
        out / "list.csv", index=False, lineterminator="\n")
    print(f"wrote {out / 'appointments.csv'} and {out / 'list.csv'}")


if __name__ == "__main__":
    main()
