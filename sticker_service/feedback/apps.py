from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "sticker_service.feedback"
    label = "feedback"
    verbose_name = "Feedback"
