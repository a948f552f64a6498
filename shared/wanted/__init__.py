"""The wanted list: one home for its rules, states and queries."""
