"""Shifts: deterministic corruptions of a sample's input (and, for geometric ones, its reference)."""
