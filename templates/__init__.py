"""The texts casebot sends, one folder per locale; installed as casebot.templates."""
