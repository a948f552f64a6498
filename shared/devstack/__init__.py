"""The single-machine stack ``mamcrawler up`` runs and the tests reuse: private PostgreSQL and Redis
servers as child processes, the supervisor of the API/worker/beat/Flower processes, and the state file
through which the CLI finds a running stack. Product code never imports it (checked by import-linter)."""
