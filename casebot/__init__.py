"""casebot: a Telegram bot that tracks oncology second-opinion cases for families and coordinators."""

__version__ = "0.1.0"
