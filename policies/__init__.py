"""Booking policies: one module per policy, all behind ``sim.policy_api.BookingPolicy``.

``REGISTRY`` maps the names a scenario may give under ``policy.name`` to
classes. A scenario may instead give ``package.module:Class`` for its own.
"""

from .access_first import AccessFirst

REGISTRY: dict[str, type] = {
    "access_first": AccessFirst,
}

__all__ = ["REGISTRY", "AccessFirst"]
