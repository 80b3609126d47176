"""Run the simulator: ``python -m intra_simulator --scale tiny --port 8042``.

Prints one line with its URL once it listens; with ``--ready-file`` it also writes
``{"url": ..., "pid": ...}`` there, so scripts and tests can start it on port 0 and find it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from intra_simulator.faults import Faults
from intra_simulator.generate import DATA_EPOCH, SCALES, build_dataset
from intra_simulator.oauth import App, TokenStore
from intra_simulator.population import build_population, schedule_anonymizations
from intra_simulator.ratelimit import RateLimiter
from intra_simulator.server import Simulator, SimulatorServer
from intra_simulator.store import CAMPUS_LISTS
from intra_simulator.world import Clock, World

DEFAULT_CLIENT_ID = "sim-client-id"
DEFAULT_CLIENT_SECRET = "sim-client-secret"


def instant(text: str) -> datetime:
    """``--start-at``: an ISO 8601 instant, not before the generated data ends."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 instant") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment < DATA_EPOCH:
        raise argparse.ArgumentTypeError(
            f"{text} is before {DATA_EPOCH.isoformat()}: every generated record is dated before "
            "that (generate.DATA_EPOCH), so the clock cannot start earlier"
        )
    return moment.astimezone(UTC)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m intra_simulator", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="tiny")
    parser.add_argument(
        "--population",
        choices=sorted(SCALES),
        help="scale of the users and their progress (default: --scale)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8042, help="0 picks a free port")
    parser.add_argument(
        "--client-id", default=os.environ.get("INTRA_SIM_CLIENT_ID", DEFAULT_CLIENT_ID)
    )
    parser.add_argument(
        "--client-secret", default=os.environ.get("INTRA_SIM_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    )
    parser.add_argument(
        "--per-second", type=int, default=2, help="requests/s per app; 0 = no limit"
    )
    parser.add_argument(
        "--per-hour", type=int, default=1200, help="requests/h per app; 0 = no limit"
    )
    parser.add_argument(
        "--token-ttl", type=int, default=7200, help="access token lifetime, seconds"
    )
    parser.add_argument(
        "--no-int4-ids",
        dest="int4_ids",
        action="store_false",
        help="accept id bounds beyond 32 bits (newer Rails) instead of answering 500",
    )
    parser.add_argument(
        "--bare-401", action="store_true", help="401s carry no WWW-Authenticate header"
    )
    parser.add_argument(
        "--campus-filter",
        choices=("primary", "any"),
        default="primary",
        help="projects_users filter[campus] finds a user without a primary campus_users row: "
        "never (primary, the default) or by any campus they have a row at (any)",
    )
    parser.add_argument(
        "--locations-campus-list",
        choices=CAMPUS_LISTS,
        default="accept",
        help="/v2/locations with several ids in filter[campus_id]: answered (accept, the "
        "default) or refused with a 400 (refuse); whether the real API takes them is unknown",
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--start-ago",
        type=float,
        default=0.0,
        help="seconds: the simulated clock starts this far before the real time (the demo "
        "starts an hour back, so that its hour of activity ends at the real time, not after)",
    )
    start.add_argument(
        "--start-at",
        type=instant,
        help="ISO 8601 instant the simulated clock starts at (UTC if no offset is given), not "
        f"before {DATA_EPOCH:%Y-%m-%d} (the generated data's end); the locations cover the 35 "
        "days before it",
    )
    parser.add_argument("--faults", default="[]", help="JSON list of fault rules (see faults.py)")
    parser.add_argument("--ready-file", type=Path, help="write {url, pid} here once listening")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The world is tens of millions of objects that live as long as the process, and none of
    # them is garbage: the cyclic collector would walk them over and over while they are built
    # (a fifth of the start at network scale) and at every advance after. So it is off while
    # they are built, and they are then frozen out of its reach.
    gc.disable()
    data = build_dataset(args.scale, args.seed)
    population, builder = build_population(data, args.seed, args.population or args.scale)
    clock = Clock(args.start_at or datetime.now(UTC) - timedelta(seconds=args.start_ago))
    schedule_anonymizations(population, data, clock.now(), args.seed)
    world = World(data, clock, seed=args.seed, builder=builder, campus_filter=args.campus_filter)
    world.store.locations_campus_list = args.locations_campus_list
    gc.freeze()
    gc.enable()
    tokens = TokenStore(ttl=args.token_ttl)
    tokens.add_app(App(uid=args.client_id, secret=args.client_secret))
    faults = Faults(seed=args.seed)
    faults.set(json.loads(args.faults))
    sim = Simulator(
        world,
        tokens,
        RateLimiter(args.per_second, args.per_hour),
        faults,
        scale=args.scale,
        int4_ids=args.int4_ids,
        bare_401=args.bare_401,
    )
    server = SimulatorServer((args.host, args.port), sim)
    server.RequestHandlerClass.quiet = not args.verbose
    host, port = server.server_address[:2]
    url = f"http://{host}:{port}"
    if args.ready_file:
        tmp = args.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": url, "pid": os.getpid()}))
        tmp.replace(args.ready_file)
    print(f"intra simulator listening on {url} (scale={args.scale}, seed={args.seed})", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
