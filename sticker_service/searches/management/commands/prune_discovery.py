"""python -m sticker_service prune_discovery: drop hourly use counts older than any trending window can compare."""

from django.core.management.base import BaseCommand

from sticker_service.searches.services import prune_hourly_uses


class Command(BaseCommand):
    help = (
        "Delete the hourly use counts of trending older than two of its longest windows (2 x 168 h). Safe to run "
        "at any time and as often as wanted (e.g. daily from cron); query totals and distinct-client counts stay."
    )

    def handle(self, *args, **options):
        deleted = prune_hourly_uses()
        self.stdout.write(f"{deleted} hourly use rows deleted")
