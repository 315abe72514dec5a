"""The calibrator the gpsim commands hand to the network loader, imported lightly.

Calibration pulls in plotting and the fit report; a network without exports
should not pay for that at start-up, so this stub imports it only when a
network names a practice's export.
"""

from __future__ import annotations

from pathlib import Path


def calibrate_network_practices(network: Path, items: list) -> dict:
    """:func:`gpsim.calibrate.calibrate_network_practices`, imported when first needed."""
    from gpsim.calibrate import calibrate_network_practices as calibrate

    return calibrate(network, items)
