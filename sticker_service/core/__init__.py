"""What every app of sticker_service builds on at run time: the API plumbing (throttles, fields, the JSON parser,
error schemas), who the client is, the shared store's lock, and the HTTP client of search_service (the only way
sticker_service reaches it). Core imports none of the apps (checked by make lint's import contracts). Settings and
URLs stay in config/."""
