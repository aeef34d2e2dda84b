from rulelint.cli.main import main

raise SystemExit(main())
