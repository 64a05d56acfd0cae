"""Notify: turns the other services' events into messages for caregivers, staff and systems."""
