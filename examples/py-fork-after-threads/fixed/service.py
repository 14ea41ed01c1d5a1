"""Entry point: `python service.py image1.png image2.png ...`."""
import logging
import sys

from thumbs import heartbeat  # noqa: F401  (starts the heartbeat thread)
from thumbs.render import render_all


def main(argv):
    logging.basicConfig(level=logging.INFO)
    for out in render_all(argv[1:]):
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
