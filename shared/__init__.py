"""Code every Shouhu service shares: event contracts, outbox/inbox plumbing, database
pools and migrations, settings, auth, logging and metrics. Nothing domain-specific."""
