from metalnet.cli.main import main

raise SystemExit(main())
