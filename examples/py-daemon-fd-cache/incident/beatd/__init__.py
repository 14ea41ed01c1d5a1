"""beatd: a tiny periodic-task scheduler (the shape of `celery beat --detach`)."""
