"""What a run draws before its first booking: patients, demand, workforce, slots."""
