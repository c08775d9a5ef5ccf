from attendbot.cli import entry

entry()
