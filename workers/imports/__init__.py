"""The import bodies: probing, placing, telling Audiobookshelf (rules: ``shared/imports/``)."""
