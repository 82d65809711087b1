-- PostgreSQL makes api_rate_windows UNLOGGED here; SQLite has no such table kind (and keeps the
-- rate limit in memory anyway). Kept so both backends have the same migration list.
SELECT 1;
