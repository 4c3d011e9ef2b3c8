from django.apps import AppConfig


class RankingConfig(AppConfig):
    name = "search_service.ranking"
    label = "ranking"
    verbose_name = "Ranking (search and similar)"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from search_service.stickers.models import Sticker
        from search_service.stickers.signals import index_changed

        from .result_cache import index_changed as forget_results

        # Cached results of this process go as soon as it changes the index: the services send index_changed
        # (bulk writes and deletes send no model signals); single saves too. No post_delete receiver: it would
        # make every queryset delete of stickers load the rows (vectors included) to send it.
        # With Redis, also publishes a new index version that retires every process's cached results.
        index_changed.connect(forget_results, dispatch_uid="ranking.results.index_changed")
        post_save.connect(forget_results, sender=Sticker, dispatch_uid="ranking.results.post_save")
