"""The search proxy: the public search and similar endpoints. They ask search_service (core/search_client.py)
with the lift the query's votes give (feedback.boosts), answer the stickers with their public URLs, and count the
query's use in the query log (searches). It sits above searches and feedback, which it reads, and owns no table:
a plain package, not a Django app."""
