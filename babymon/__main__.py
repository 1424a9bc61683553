from babymon.cli import main

raise SystemExit(main())
