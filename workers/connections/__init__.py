"""``connection.test``'s body: one cheap call to one outside service through that service's own client."""
