"""One module per page: each builds the JSON-able context its template renders (and `?format=json` returns)."""
