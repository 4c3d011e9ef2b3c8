"""python -m sticker_service ensure_admin: create or update the admin user and its API token from the environment."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sticker_service.accounts.services import ensure_admin


class Command(BaseCommand):
    help = (
        "Create or update the staff superuser ADMIN_USERNAME (ADMIN_EMAIL, ADMIN_PASSWORD) and set its DRF "
        "token to ADMIN_TOKEN when given. Idempotent."
    )

    def handle(self, *args, **options):
        if not settings.ADMIN_PASSWORD:
            raise CommandError("ADMIN_PASSWORD is not set; nothing to do.")
        try:
            result = ensure_admin(
                username=settings.ADMIN_USERNAME,
                email=settings.ADMIN_EMAIL,
                password=settings.ADMIN_PASSWORD,
                token=settings.ADMIN_TOKEN,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        action = "created" if result.user_created else "updated"
        token = "token set" if result.token_changed else "token unchanged"
        self.stdout.write(self.style.SUCCESS(f"admin {result.username!r} {action}; {token}"))
