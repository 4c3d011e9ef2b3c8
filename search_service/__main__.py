"""Django's management commands for search_service: `python -m search_service <command>` from the repository root."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "search_service.config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["python -m search_service", *sys.argv[1:]])
