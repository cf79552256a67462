from omnivec.cli.main import main

raise SystemExit(main())
