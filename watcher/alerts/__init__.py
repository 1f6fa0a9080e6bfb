"""Alerts: what a match becomes, how it is worded per channel, and how it is delivered."""
