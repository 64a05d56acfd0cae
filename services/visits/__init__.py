"""Visits: every contact with a child logged (家访, 谈心, 亲情电话…), duties and concerns."""
