"""Delivering notifications (``notify.send``) through Apprise."""
