pytest_plugins = ["tests.fixtures.services", "tests.fixtures.swarm", "tests.fixtures.sinks", "tests.fixtures.flow"]
