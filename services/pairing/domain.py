"""Pairing rules, pure: no I/O. (Capacity and matching rules live here; the child
projection needs none, since "only a newer record version overwrites" is one SQL clause
in store.upsert_child.)"""
