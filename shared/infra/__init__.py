"""Infrastructure every role needs: settings, the database and Redis connections, secrets and their
encryption, API keys, migrations, the error vocabulary and the clock."""
