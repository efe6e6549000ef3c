"""casebot's routers, one module per audience, each built by a function (a router attaches once)."""
