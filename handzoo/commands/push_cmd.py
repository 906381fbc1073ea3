"""``handzoo push VARIANT REPO_ID``: upload converted weights + a generated card (maintainers)."""

from __future__ import annotations

import argparse
from pathlib import Path

from handzoo.commands._output import print_json

HELP = "Upload a variant's converted weights and a generated model card to the Hugging Face Hub (maintainers)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``handzoo push``."""
    parser.add_argument("variant", help="model variant whose converted weights to upload")
    parser.add_argument("repo_id", help="Hub model repository, owner/name (created if missing)")
    parser.add_argument("--weights", help="safetensors file to upload (default: the cached conversion)")
    parser.add_argument("--filename", default="model.safetensors", help="path of the weights in the repository")
    parser.add_argument("--branch", default="main", help="branch to commit to")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--token", help="Hub token (default: `hf auth login` / HF_TOKEN)")
    parser.add_argument("--write-card", metavar="PATH", help="also write the generated card here")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    """Push and print the pinned revision and the card."""
    from handzoo.hub.push import push_weights

    res = push_weights(
        args.variant,
        args.repo_id,
        weights=args.weights,
        filename=args.filename,
        branch=args.branch,
        token=args.token,
        private=True if args.private else None,
    )
    if args.write_card:
        Path(args.write_card).write_text(res.card_text, encoding="utf-8")
    if args.json:
        print_json(
            {
                k: getattr(res, k)
                for k in ("variant", "repo_id", "filename", "revision", "card_revision", "sha256", "size")
            }
        )
        return 0
    print(f"pushed {res.variant} to {res.repo_id}/{res.filename} at revision {res.revision}")
    print(f"  sha256 {res.sha256} ({res.size} bytes); card committed as {res.card_revision}")
    print("  put the generated card in model_cards/ (or use --write-card) so handzoo.load downloads it")
    return 0
