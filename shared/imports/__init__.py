"""The imports domain: taking a finished download into the Audiobookshelf library."""
