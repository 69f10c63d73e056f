from clarimon.cli.main import main

raise SystemExit(main())
