"""Calibration: a practice's appointment export read, turned into a scenario, and its fit measured.

* :mod:`.export` reads an export (canonical columns, EMIS Web, SystmOne or a
  practice's own mapping), every problem in one pass;
* :mod:`.infer` estimates the practice from it, each value with its source;
* :mod:`.writer` writes the scenario with those sources as comments;
* :mod:`.fit` measures the export and simulated runs alike and reports the fit;
* :mod:`.synthetic` writes a simulated run as an export (trials and tests).

None of it simulates: ``gpsim calibrate`` runs the model for the fit.
"""
