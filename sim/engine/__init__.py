"""Booking: the calendar, the policy interface, the two booking desks and the clock."""
