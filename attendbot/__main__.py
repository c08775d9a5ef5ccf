from attendbot.cli import main

raise SystemExit(main())
