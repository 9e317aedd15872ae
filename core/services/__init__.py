"""Business rules, free of request objects; each public call is one transaction."""
