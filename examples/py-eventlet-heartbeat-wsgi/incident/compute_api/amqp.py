"""A RabbitMQ connection that keeps itself alive from a heartbeat thread, written the way
messaging drivers do it: a native threading.Thread that checks the heartbeat and waits."""
import threading

import kombu


class RabbitConnection:
    def __init__(self, url, heartbeat_timeout=60, rate=2):
        self.connection = kombu.Connection(url, heartbeat=heartbeat_timeout)
        self._rate = rate
        self._lock = threading.Lock()
        self._exit = threading.Event()
        self._wait = heartbeat_timeout / rate / 2
        self._heartbeat_thread = None

    def _heartbeat_thread_job(self):
        while not self._exit.is_set():
            with self._lock:
                self.connection.heartbeat_check(rate=self._rate)
            self._exit.wait(timeout=self._wait)

    def start_heartbeat(self):
        self._heartbeat_thread = threading.Thread(target=self._heartbeat_thread_job, name="amqp-heartbeat")
        self._heartbeat_thread.daemon = True
        self._heartbeat_thread.start()

    def stop_heartbeat(self):
        self._exit.set()
        self._heartbeat_thread.join()
