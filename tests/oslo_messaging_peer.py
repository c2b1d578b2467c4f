"""oslo.messaging itself, as OpenStack's services use it, run by tests in a process of its own.

    python -m tests.oslo_messaging_peer listen URL --exchange glance --topic notifications
        [--pool NAME] [--durable]
    python -m tests.oslo_messaging_peer notify URL --exchange glance --topic notifications
        [--durable]

`listen` runs a notification listener (`oslo_messaging.get_notification_listener`, as
Ceilometer's agents do) and prints one JSON line per notification it is given: its priority,
context, publisher id, event type, payload and metadata, after a first line `{"listening":
true}`; it stops on SIGTERM. `notify` sends one notification with oslo.messaging's notifier
(driver `messagingv2`, a request context as Glance passes it): a reference for what its
drivers put on the wire.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import warnings
from types import FrameType
from typing import Any

warnings.simplefilter("ignore")  # oslo's and eventlet's deprecations are not under test

import oslo_messaging  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_context import context  # noqa: E402

PRIORITIES = ("audit", "debug", "info", "warn", "error", "critical", "sample")


def transport(args: argparse.Namespace) -> Any:
    conf = cfg.ConfigOpts()
    conf([], project="catalog-tests")
    oslo_messaging.set_transport_defaults(args.exchange)
    found = oslo_messaging.get_notification_transport(conf, url=args.url)
    if "oslo_messaging_rabbit" in conf:  # registered by the rabbit driver only
        # As an operator sets it in [oslo_messaging_rabbit], for every service alike.
        conf.set_override("amqp_durable_queues", args.durable, group="oslo_messaging_rabbit")
    return found


class Printer:
    """An endpoint for every priority: each notification becomes a line on stdout."""

    lock = threading.Lock()

    def __getattr__(self, priority: str) -> Any:
        if priority not in PRIORITIES:
            raise AttributeError(priority)

        def received(
            ctxt: dict[str, Any],
            publisher_id: str,
            event_type: str,
            payload: Any,
            metadata: dict[str, Any],
        ) -> None:
            line = {
                "priority": priority,
                "ctxt": ctxt,
                "publisher_id": publisher_id,
                "event_type": event_type,
                "payload": payload,
                "metadata": metadata,
            }
            with self.lock:
                print(json.dumps(line), flush=True)

        return received


def listen(args: argparse.Namespace) -> None:
    found = transport(args)
    targets = [oslo_messaging.Target(topic=args.topic)]
    listener = oslo_messaging.get_notification_listener(
        found, targets, [Printer()], executor="threading", pool=args.pool
    )
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    # One thread hands notifications to the endpoint, in the order they come.
    listener.start(override_pool_size=1)
    print(json.dumps({"listening": True}), flush=True)
    stopping.wait()
    listener.stop()
    listener.wait()
    found.cleanup()


def notify(args: argparse.Namespace) -> None:
    found = transport(args)
    notifier = oslo_messaging.Notifier(
        found, publisher_id="image.localhost", driver="messagingv2", topics=[args.topic]
    )
    request = context.RequestContext(
        user_id="reference-user", project_id="reference-project", roles=["member"]
    )
    notifier.info(request, "image.create", {"id": "reference"})
    found.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["listen", "notify"])
    parser.add_argument("url")
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--pool")
    parser.add_argument("--durable", action="store_true")
    args = parser.parse_args()
    {"listen": listen, "notify": notify}[args.action](args)


if __name__ == "__main__":
    main()
