"""A RabbitMQ connection that keeps itself alive from a heartbeat thread.

The service patches threading with eventlet, so the heartbeat thread is created from the
unpatched module: it stays a native thread that the kernel schedules even while no request
runs the eventlet hub.
"""

import eventlet.patcher
import kombu

native_threading = eventlet.patcher.original("threading")


class RabbitConnection:
    def __init__(self, url, heartbeat_timeout=60, rate=2):
        self.connection = kombu.Connection(url, heartbeat=heartbeat_timeout)
        self._rate = rate
        self._lock = native_threading.Lock()
        self._exit = native_threading.Event()
        self._wait = heartbeat_timeout / rate / 2
        self._heartbeat_thread = None

    def _heartbeat_thread_job(self):
        while not self._exit.is_set():
            with self._lock:
                self.connection.heartbeat_check(rate=self._rate)
            self._exit.wait(timeout=self._wait)

    def start_heartbeat(self):
        self._heartbeat_thread = native_threading.Thread(target=self._heartbeat_thread_job, name="amqp-heartbeat")
        self._heartbeat_thread.daemon = True
        self._heartbeat_thread.start()

    def stop_heartbeat(self):
        self._exit.set()
        self._heartbeat_thread.join()
