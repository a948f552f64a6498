"""The library domain: the mirror of Audiobookshelf, and its job types (``library.*``)."""
