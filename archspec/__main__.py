from archspec.cli import main

raise SystemExit(main())
