"""What every app of sticker_service builds on at run time: the API plumbing (throttles, fields, the JSON parser,
error schemas), who the client is, the shared store's lock. Settings and URLs stay in config/."""
