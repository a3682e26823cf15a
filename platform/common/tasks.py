"""Tasks that belong to no domain app."""

from celery import shared_task


@shared_task(name="common.ping")
def ping(payload: str = "pong") -> dict:
    """Round-trip check for workers: returns the payload and the worker's host name."""
    import socket

    return {"payload": payload, "host": socket.gethostname()}
