"""Entry point: `python beat.py --detach`."""
import argparse
import sys
import time

from beatd import ids, metrics
from beatd.platform import detach


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--detach", action="store_true")
    args = parser.parse_args(argv)
    if args.detach:
        detach()
    while True:
        metrics.gauge("beat.tick", 1)
        # Reads from the statsd socket instead of /dev/urandom, and blocks for ever.
        print("scheduled", ids.new_id())
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
