"""Notifications: the events worth telling a person about, which are switched on, and queuing them.

Sending is a job (``notify.send``, body in ``workers/notify/``): the event is queued in the same
transaction as the change that caused it, so it is sent once that change is committed and is
retried if the notification service is down, without making the cause fail.
"""
