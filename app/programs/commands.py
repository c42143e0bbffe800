"""``spotter program new|show|next``: a thin shell over ``app.programs.operations``."""

from __future__ import annotations

import argparse

from app.storage import open_database

from . import operations as ops
from .plans import Goal, Level, PlanRequest


def program_command(args: argparse.Namespace) -> int:
    with open_database(args.data_dir) as db:
        if args.action == "new":
            print(ops.describe_plan(ops.create_program(db, args.profile, _request(args))))
            return 0
        if args.action == "show":
            print(ops.describe_plan(ops.require_plan(db, args.profile)))
            return 0
        print(ops.describe_next(ops.next_session(db, args.profile)))
        return 0


def _request(args: argparse.Namespace) -> PlanRequest:
    equipment = ops.parse_equipment(args.equipment)
    return PlanRequest(Goal(args.goal), Level(args.level), equipment, args.days, args.unit)
