"""The download pool: grabs into qBittorrent, the monitor, bonus-point spends."""
