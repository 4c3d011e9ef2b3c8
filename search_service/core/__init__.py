"""What every app of search_service builds on at run time: the service token, the replica router, the Prometheus
metrics, the error schemas. Settings, URLs and the Celery app stay in config/."""
