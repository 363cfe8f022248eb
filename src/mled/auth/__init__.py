"""Authentication and authorization rules, free of any web framework."""
