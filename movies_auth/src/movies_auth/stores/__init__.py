"""PostgreSQL and Redis: connections, the Redis key layout, concurrent-safe writes, readiness."""
