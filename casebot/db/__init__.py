"""Storage: the tortoise models and the database lifecycle; nothing else knows table layouts."""
