"""`manage.py create_api_token <username> [--name NAME] [--reset]`: a new API token for a
researcher, printed once (only its hash is stored). `drf_create_token` is the same command under
DRF's old name, so scripts written for DRF's authtoken keep working; `--reset` (`-r`) revokes
the user's earlier tokens of the same name first, as DRF's reset replaced the one key."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from common import tokens
from common.exceptions import DomainError


class Command(BaseCommand):
    help = "Create an API token for a researcher and print its key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for")
        parser.add_argument(
            "-r",
            "--reset",
            action="store_true",
            help="Revoke the user's earlier active tokens of this name first",
        )

    def handle(self, *args, username: str, name: str, reset: bool, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        try:
            if reset:
                for token in tokens.api_token_list(user=user).filter(
                    name=name, revoked_at__isnull=True
                ):
                    tokens.api_token_revoke(token=token)
            _token, key = tokens.api_token_create(user=user, name=name)
        except DomainError as exc:
            raise CommandError(f"{username}: {exc.message}") from None
        self.stdout.write(f"Generated token {key} for user {username}")
