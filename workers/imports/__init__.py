"""The import of finished downloads into Audiobookshelf: verify, listen, place, tell ABS."""
