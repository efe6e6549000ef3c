"""Scheduling: APScheduler ticks the reminder sweep; the database holds everything durable."""
