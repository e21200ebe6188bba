from gapbench.cli import main

raise SystemExit(main())
