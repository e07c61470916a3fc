from wiretrim.cli import main

raise SystemExit(main())
