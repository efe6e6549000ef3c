"""The pure rules of a second-opinion case: no database, no Telegram, no clock of its own."""
