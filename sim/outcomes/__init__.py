"""What follows from a run's bookings: A&E proxies and the results tables."""
