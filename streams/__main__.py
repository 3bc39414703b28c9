"""`python -m streams PROJECTOR`: run one projector with settings from the environment."""

import argparse

from ostock.settings import Settings
from streams.worker import PROJECTORS, run_projector


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m streams", description=__doc__)
    parser.add_argument("projector", choices=sorted(PROJECTORS))
    run_projector(Settings(), parser.parse_args().projector)


if __name__ == "__main__":
    main()
