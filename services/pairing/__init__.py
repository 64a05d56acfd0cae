"""Pairing: caregivers, and a caregiver paired with every child (结对帮扶)."""
