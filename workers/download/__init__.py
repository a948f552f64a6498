"""The download pool: grabs into qBittorrent, the monitor, the seeding-obligation ledger's worker side."""
