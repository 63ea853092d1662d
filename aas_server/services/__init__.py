"""Use cases of the API, independent of HTTP: validation, path handling, consistency rules. api -> services -> store."""
