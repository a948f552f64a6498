"""The metadata domain: matching recordings to providers, series gaps and follows, and their job types."""
