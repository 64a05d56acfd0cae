"""The four Shouhu services; each owns its database and talks to the others only through Kafka."""
