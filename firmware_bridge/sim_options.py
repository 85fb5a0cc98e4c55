"""The firmware simulator's command line: every option with its unit and default, the anomaly flags parsed."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from firmware_bridge.modbus_sim import add_options as add_modbus_options
from firmware_bridge.signals import Anomaly

DESCRIPTION = "A simulated firmware on a pseudo-terminal: real frames, injectable anomalies and faults."

ANOMALY_FORMAT = """\
AT:CHANNEL:SIZE[:LENGTH]; each flag may be given again for more:
  AT       the sample it starts at, counted from 0 = the first SAMPLE the
           device makes (dropped and corrupted ones count too; with --csv,
           the file's data row); its device time is AT x --period-ms
  CHANNEL  a name from --channels, or its index counted from 0
  SIZE     added to the reading, in the channel's own units (--units),
           not standard deviations
  LENGTH   in samples (spike: 1, shift: to the end, drift: required)"""

ANOMALIES = {  # kind: (metavar, help)
    "spike": (
        "AT:CHANNEL:SIZE[:LENGTH]",
        "add SIZE to one sample (to LENGTH samples if given); --spike 300:temperature:8 reads 8 degC high "
        "at sample 300",
    ),
    "shift": (
        "AT:CHANNEL:SIZE[:LENGTH]",
        "add SIZE from sample AT on (for LENGTH samples if given); --shift 500:1:2.5 raises channel 1 by 2.5 "
        "from sample 500",
    ),
    "drift": (
        "AT:CHANNEL:SIZE:LENGTH",
        "add a ramp that grows by SIZE/LENGTH a sample to SIZE at sample AT+LENGTH-1, then stops (the reading "
        "is normal again); --drift 400:vibration:3:200",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The simulator's command line; every option's help says its unit and default."""
    parser = argparse.ArgumentParser(
        prog="python -m firmware_bridge.sim",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m firmware_bridge.sim --link /tmp/edge-sim/tty --rate 100 \\\n"
        "      --spike 300:temperature:8 --drift 1000:1:3:200 \\\n      --corrupt-rate 0.01 --unplug-every 500",
    )
    parser.add_argument(
        "--link",
        type=Path,
        metavar="PATH",
        help="make this symlink point at the pty (default: none; the pty's own path is printed)",
    )
    parser.add_argument(
        "--channels",
        default="temperature,vibration",
        metavar="NAMES",
        help="comma-separated channel names the HELLO announces (default: %(default)s)",
    )
    parser.add_argument(
        "--units",
        default="degC,mm/s",
        metavar="UNITS",
        help="comma-separated units, one per channel; a missing one is 1 (default: %(default)s)",
    )
    parser.add_argument(
        "--period-ms",
        type=int,
        default=1000,
        metavar="MS",
        help="the device's sample period: each SAMPLE's timestamp is this much after the last (default: %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        metavar="PER_S",
        help="SAMPLE frames sent per second of wall-clock time (default: real time, 1000 / --period-ms)",
    )
    parser.add_argument(
        "--count", type=int, metavar="N", help="stop after this many samples (default: run until SIGTERM or SIGINT)"
    )
    parser.add_argument(
        "--csv",
        type=Path,
        help="send these columns (named like --channels), row by row and again from the top, instead of a sine",
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.2,
        metavar="SD",
        help="standard deviation of the Gaussian noise on the sine (channel c: 10(c+1) + 5 sin(2 pi i/600 + c) "
        "at sample i), in channel units (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seeds the noise and every random fault (default: %(default)s)"
    )
    parser.add_argument(
        "--device-id", default="sim-1", metavar="ID", help="the device id the HELLO announces (default: %(default)s)"
    )
    parser.add_argument(
        "--start-on-request",
        action="store_true",
        help="stay quiet until the gateway's first HELLO_REQUEST (a bench set-up)",
    )
    anomalies = parser.add_argument_group("anomalies", ANOMALY_FORMAT)
    for kind, (metavar, text) in ANOMALIES.items():
        anomalies.add_argument(f"--{kind}", action="append", default=[], metavar=metavar, help=text)
    faults = parser.add_argument_group("link and sensor faults", "each drawn independently for every SAMPLE")
    faults.add_argument(
        "--corrupt-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="chance (0-1) that one random byte of a frame is flipped (default: %(default)s)",
    )
    faults.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="chance (0-1) that a frame is lost whole, its sequence number used up (default: %(default)s)",
    )
    faults.add_argument(
        "--nan-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="chance (0-1) that one random channel reads NaN (default: %(default)s)",
    )
    faults.add_argument(
        "--unplug-every",
        type=int,
        default=0,
        metavar="SAMPLES",
        help="close the pty every this many samples made and open a new one behind --link after --unplug-ms; "
        "the device keeps sampling meanwhile (default: %(default)s, never)",
    )
    faults.add_argument(
        "--unplug-ms",
        type=float,
        default=200.0,
        metavar="MS",
        help="how long each unplug lasts, in wall-clock milliseconds (default: %(default)s)",
    )
    parser.add_argument(
        "--linger-s",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="after --count, keep the port open this long so the last frames can be read (default: %(default)s)",
    )
    add_modbus_options(parser)
    return parser


def parse_anomalies(args: argparse.Namespace, channels: Sequence[str]) -> list[Anomaly]:
    """Every ``--spike``, ``--shift`` and ``--drift``; a ``ValueError`` names the one that is wrong."""
    for text in args.drift:
        if len(text.split(":")) == 3:  # without LENGTH the ramp would span 10**12 samples: nothing to see
            raise ValueError(
                f"--drift {text!r}: a drift needs LENGTH, the samples its ramp takes (AT:CHANNEL:SIZE:LENGTH)"
            )
    return [Anomaly.parse(kind, text, channels) for kind in ANOMALIES for text in getattr(args, kind)]
