"""The service's RPC client: one broker connection per process, kept alive in the background."""
from compute_api.amqp import RabbitConnection

CONNECTION = None


def init(url):
    global CONNECTION
    CONNECTION = RabbitConnection(url)
    CONNECTION.start_heartbeat()
    return CONNECTION


def cast(topic, message):
    with CONNECTION.connection.Producer() as producer:
        producer.publish(message, routing_key=topic)
